/**
 * A picture of a transport's live state for debugging, pyVoIP's
 * `get_database_dump(pretty)`: its open connections, how many received
 * messages wait unread, and counters of what went through and what was
 * refused. Rendered as JSON or as a table for a terminal. It never holds
 * settings, so no password or key can leak through it.
 *
 * @since 0.1.0
 */

/**
 * What a transport counts. A message refused for any reason is counted once
 * under its reason, and once more under `badRequestsSent` when it was answered.
 *
 * @category models
 * @since 0.1.0
 */
export interface TransportCounters {
  /** Messages parsed and handed to the upper layer. */
  received: number
  /** Messages (and raw payloads) sent. */
  sent: number
  /** Datagrams or framed messages the SIP parser rejected. */
  parseErrors: number
  /** Streams cut because they could not be framed (header or message too large, bad Content-Length). */
  framingErrors: number
  /** Messages over `maxMessageBytes`. */
  oversized: number
  /** Connections closed by the peer in the middle of a message. */
  truncated: number
  /** Received messages dropped because the incoming queue was full. */
  dropped: number
  /** 400/513 answers sent to broken requests. */
  badRequestsSent: number
  /** RFC 5626 keep-alive pings answered. */
  keepAlivesAnswered: number
  /** TLS handshakes that failed, or peers whose certificate was refused. */
  tlsFailures: number
  /** Times a TLS connection fell back to TCP (ALLOW_TLS_FALLBACK). */
  tlsFallbacks: number
  connectionsOpened: number
  connectionsClosed: number
  /** Connections closed because they were idle. */
  idleClosed: number
}

/**
 * Fresh counters, all zero.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeCounters = (): TransportCounters => ({
  received: 0,
  sent: 0,
  parseErrors: 0,
  framingErrors: 0,
  oversized: 0,
  truncated: 0,
  dropped: 0,
  badRequestsSent: 0,
  keepAlivesAnswered: 0,
  tlsFailures: 0,
  tlsFallbacks: 0,
  connectionsOpened: 0,
  connectionsClosed: 0,
  idleClosed: 0
})

/**
 * One open TCP/TLS connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionSnapshot {
  readonly id: string
  readonly transport: string
  readonly direction: "inbound" | "outbound"
  readonly remote: string
  readonly local: string
  readonly openedAt: number
  readonly idleMillis: number
  readonly messagesReceived: number
  readonly messagesSent: number
  readonly bytesReceived: number
  readonly bytesSent: number
  /** Bytes of a message still being received. */
  readonly buffered: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface TransportSnapshot {
  readonly mode: string
  readonly local: string
  readonly publicAddress: string | null
  /** `Clock` time of the snapshot, in milliseconds. */
  readonly takenAt: number
  /** Received messages waiting for the upper layer. */
  readonly unread: number
  readonly connections: ReadonlyArray<ConnectionSnapshot>
  readonly counters: Readonly<TransportCounters>
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)]
}

/**
 * The snapshot as text: JSON by default, a table when `pretty`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const render = (snapshot: TransportSnapshot, pretty = false): string => {
  if (!pretty) return JSON.stringify(snapshot)
  const lines = [
    `SIP transport ${snapshot.mode} on ${snapshot.local}` +
    (snapshot.publicAddress === null ? "" : ` (public ${snapshot.publicAddress})`),
    `unread messages: ${snapshot.unread}`,
    "",
    ...table(["counter", "value"], Object.entries(snapshot.counters).map(([name, value]) => [name, String(value)])),
    "",
    `connections: ${snapshot.connections.length}`
  ]
  if (snapshot.connections.length > 0) {
    lines.push(...table(
      ["id", "transport", "direction", "remote", "local", "idle ms", "msgs in/out", "bytes in/out", "buffered"],
      snapshot.connections.map((connection) => [
        connection.id,
        connection.transport,
        connection.direction,
        connection.remote,
        connection.local,
        String(connection.idleMillis),
        `${connection.messagesReceived}/${connection.messagesSent}`,
        `${connection.bytesReceived}/${connection.bytesSent}`,
        String(connection.buffered)
      ])
    ))
  }
  return lines.join("\n")
}
