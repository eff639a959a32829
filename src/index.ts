/**
 * effect-voip: SIP and RTP for TypeScript on Effect.
 */
export const version = "0.1.0"
