/**
 * SIP header field names: the spelling this library writes for each known
 * header (RFC 3261 §20 and the extensions registered with IANA), and the
 * single-letter compact forms of RFC 3261 §7.3.3 and the IANA "Header
 * Fields" registry. Names compare case-insensitively; a compact form is the
 * same header as its long form.
 *
 * @since 0.1.0
 */

/**
 * Every header name the parser recognises, in the spelling it writes. The
 * position in this list is the header's id, which the message parser keeps per
 * header line so lookups compare small integers instead of strings.
 */
const knownNames = [
  "Via",
  "From",
  "To",
  "Call-ID",
  "CSeq",
  "Contact",
  "Content-Length",
  "Content-Type",
  "Max-Forwards",
  "Route",
  "Record-Route",
  "Expires",
  "Min-Expires",
  "WWW-Authenticate",
  "Proxy-Authenticate",
  "Authorization",
  "Proxy-Authorization",
  "Authentication-Info",
  "Allow",
  "Supported",
  "Require",
  "Proxy-Require",
  "Unsupported",
  "Accept",
  "Accept-Encoding",
  "Accept-Language",
  "Accept-Contact",
  "Reject-Contact",
  "Request-Disposition",
  "Alert-Info",
  "Call-Info",
  "Content-Disposition",
  "Content-Encoding",
  "Content-Language",
  "Date",
  "Error-Info",
  "In-Reply-To",
  "MIME-Version",
  "Organization",
  "Priority",
  "Reply-To",
  "Retry-After",
  "Server",
  "Subject",
  "Timestamp",
  "User-Agent",
  "Warning",
  "Event",
  "Allow-Events",
  "Subscription-State",
  "Refer-To",
  "Referred-By",
  "Refer-Sub",
  "Replaces",
  "Session-Expires",
  "Min-SE",
  "RSeq",
  "RAck",
  "Identity",
  "Identity-Info",
  "P-Asserted-Identity",
  "P-Preferred-Identity",
  "Privacy",
  "Path",
  "Service-Route",
  "Reason",
  "SIP-ETag",
  "SIP-If-Match",
  "History-Info",
  "Diversion",
  "Remote-Party-ID",
  "Target-Dialog",
  "Join"
] as const

/**
 * A known header's canonical spelling.
 *
 * @category models
 * @since 0.1.0
 */
export type KnownHeaderName = typeof knownNames[number]

/**
 * The id of each known header, for code that switches on header lines
 * (`HeaderId.Via === 0`). Unknown headers have id -1.
 *
 * @category models
 * @since 0.1.0
 */
export const HeaderId: { readonly [K in KnownHeaderName as Identifier<K>]: number } = Object.freeze(
  Object.fromEntries(knownNames.map((name, id) => [name.replaceAll("-", ""), id]))
) as { readonly [K in KnownHeaderName as Identifier<K>]: number }

type Identifier<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Identifier<Tail>}` : S

/**
 * The compact forms (RFC 3261 §7.3.3 and every letter in the IANA registry),
 * keyed by the lower-case letter.
 *
 * @category models
 * @since 0.1.0
 */
export const compactForms: ReadonlyMap<string, KnownHeaderName> = new Map<string, KnownHeaderName>([
  ["a", "Accept-Contact"],
  ["b", "Referred-By"],
  ["c", "Content-Type"],
  ["d", "Request-Disposition"],
  ["e", "Content-Encoding"],
  ["f", "From"],
  ["i", "Call-ID"],
  ["j", "Reject-Contact"],
  ["k", "Supported"],
  ["l", "Content-Length"],
  ["m", "Contact"],
  ["n", "Identity-Info"],
  ["o", "Event"],
  ["r", "Refer-To"],
  ["s", "Subject"],
  ["t", "To"],
  ["u", "Allow-Events"],
  ["v", "Via"],
  ["x", "Session-Expires"],
  ["y", "Identity"]
])

const idByLowerName = new Map<string, number>()
knownNames.forEach((name, id) => idByLowerName.set(name.toLowerCase(), id))
for (const [letter, name] of compactForms) idByLowerName.set(letter, idByLowerName.get(name.toLowerCase()) ?? -1)

const idByExactName = new Map<string, number>(idByLowerName)
knownNames.forEach((name, id) => idByExactName.set(name, id))
for (const [letter, name] of compactForms) idByExactName.set(letter.toUpperCase(), idByLowerName.get(name.toLowerCase()) ?? -1)

/**
 * The id of a header name, any case, compact forms included; -1 when unknown.
 *
 * @category getters
 * @since 0.1.0
 */
export const headerId = (name: string): number => idByExactName.get(name) ?? idByLowerName.get(name.toLowerCase()) ?? -1

/**
 * The spelling of the known header with this id.
 *
 * @category getters
 * @since 0.1.0
 */
export const nameOfId = (id: number): KnownHeaderName | undefined => knownNames[id]

/**
 * The name this library writes for `name`: the canonical spelling of a known
 * header (`cseq` → `CSeq`, `i` → `Call-ID`), or `name` itself for any other.
 *
 * @category getters
 * @since 0.1.0
 */
export const canonicalName = (name: string): string => knownNames[headerId(name)] ?? name

/**
 * The compact form of a header name, when it has one (`Via` → `v`).
 *
 * @category getters
 * @since 0.1.0
 */
export const compactFormOf = (name: string): string | undefined => {
  const id = headerId(name)
  for (const [letter, long] of compactForms) if (knownNames[id] === long) return letter
  return undefined
}

/**
 * Whether two header names denote the same header (case and compact forms
 * ignored).
 *
 * @category predicates
 * @since 0.1.0
 */
export const sameHeader = (a: string, b: string): boolean => {
  const id = headerId(a)
  return id >= 0 ? id === headerId(b) : a.toLowerCase() === b.toLowerCase()
}

// The parser identifies a name while it scans its octets: it packs the first
// eight, lower-cased, into two numbers (seven bits each, four per number), which
// with the length index an open-addressing table of ids; a hit compares the two
// numbers, and the octets after the eighth one by one. Header names are tokens,
// in which `| 0x20` only folds A-Z onto a-z (and `_` onto DEL, which no known
// name has).
const tableSize = 512
const table = new Int16Array(tableSize).fill(-1)
const lowerNames: ReadonlyArray<string> = [...idByLowerName.keys()]
const idOfLowerName: ReadonlyArray<number> = [...idByLowerName.values()]
const lowerOctets: ReadonlyArray<Uint8Array> = lowerNames.map((name) => new TextEncoder().encode(name))

/**
 * Appends an octet of a header name, lower-cased, to a packed number (seven
 * bits per octet). A name's first four octets go into one number and the
 * next four into another, both starting from 0; later octets are not
 * packed. Pass both numbers to {@link headerIdOfOctets}.
 *
 * @category getters
 * @since 0.1.0
 */
export const packNameOctet = (packed: number, octet: number): number => (packed << 7) | (octet | 0x20)

/** A slot of the 512-entry table (the top nine bits of a multiplicative hash). */
const slotOf = (length: number, first: number, second: number): number =>
  (Math.imul(first, 0x9e3779b1) ^ Math.imul(second + length, 0x85ebca6b)) >>> 23

const firstPacked: Array<number> = []
const secondPacked: Array<number> = []
lowerOctets.forEach((name, entry) => {
  let first = 0
  let second = 0
  for (let i = 0; i < name.length && i < 8; i++) {
    if (i < 4) first = packNameOctet(first, name[i]!)
    else second = packNameOctet(second, name[i]!)
  }
  firstPacked.push(first)
  secondPacked.push(second)
  let slot = slotOf(name.length, first, second)
  while (table[slot] !== -1) slot = (slot + 1) & (tableSize - 1)
  table[slot] = entry
})

/**
 * The id of the header name `bytes[start, end)`, a token whose first eight
 * octets {@link packNameOctet} packed into `first` and `second`; -1 when unknown.
 *
 * @category getters
 * @since 0.1.0
 */
export const headerIdOfOctets = (
  bytes: Uint8Array,
  start: number,
  end: number,
  first: number,
  second: number
): number => {
  const length = end - start
  for (let slot = slotOf(length, first, second);; slot = (slot + 1) & (tableSize - 1)) {
    const entry = table[slot]!
    if (entry === -1) return -1
    const name = lowerOctets[entry]!
    if (name.length === length && firstPacked[entry] === first && secondPacked[entry] === second) {
      let i = 8
      while (i < length && (bytes[start + i]! | 0x20) === name[i]) i++
      if (i >= length) return idOfLowerName[entry]!
    }
  }
}
