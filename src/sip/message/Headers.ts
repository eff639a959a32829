/**
 * The header section of a SIP message: header lines in wire order, looked up
 * case-insensitively with compact forms folded onto their long names
 * (RFC 3261 §7.3). A line's value is kept as received, unfolded (§7.3.1) and
 * trimmed; comma-joined lists are not split, so `getAll("Via")` gives one
 * entry per Via line.
 *
 * @since 0.1.0
 */
import { canonicalName, headerId } from "../HeaderNames.ts"

/**
 * Header lines to build a message from: `[name, value]` pairs in order, or a
 * record whose array values become one line each.
 *
 * @category models
 * @since 0.1.0
 */
export type HeadersInit =
  | Iterable<readonly [string, string]>
  | { readonly [name: string]: string | ReadonlyArray<string> }

/**
 * An ordered, case-insensitive, immutable collection of header lines.
 * Iteration yields `[name, value]` in wire order, with known names in their
 * canonical spelling (`i` → `Call-ID`) and other names as received.
 *
 * @category models
 * @since 0.1.0
 */
export class Headers implements Iterable<readonly [string, string]> {
  /** Per line: the known-header id (see `HeaderNames.headerId`), or -1. */
  readonly ids: ReadonlyArray<number>
  readonly names: ReadonlyArray<string>
  readonly values: ReadonlyArray<string>

  constructor(ids: ReadonlyArray<number>, names: ReadonlyArray<string>, values: ReadonlyArray<string>) {
    this.ids = ids
    this.names = names
    this.values = values
  }

  /** Header lines from `[name, value]` pairs or a record (see {@link HeadersInit}). */
  static from(init: HeadersInit): Headers {
    const ids: Array<number> = []
    const names: Array<string> = []
    const values: Array<string> = []
    const add = (name: string, value: string): void => {
      ids.push(headerId(name))
      names.push(canonicalName(name))
      values.push(value)
    }
    if (isPairs(init)) {
      for (const [name, value] of init) add(name, value)
    } else {
      for (const name of Object.keys(init)) {
        const value = init[name]!
        if (typeof value === "string") add(name, value)
        else for (const each of value) add(name, each)
      }
    }
    return new Headers(ids, names, values)
  }

  /** The number of header lines. */
  get size(): number {
    return this.values.length
  }

  /** The value of the first line named `name`. */
  get(name: string): string | undefined {
    const index = this.indexOf(name, 0)
    return index < 0 ? undefined : this.values[index]
  }

  /** The values of every line named `name`, in order. */
  getAll(name: string): ReadonlyArray<string> {
    const found: Array<string> = []
    for (let index = this.indexOf(name, 0); index >= 0; index = this.indexOf(name, index + 1)) {
      found.push(this.values[index]!)
    }
    return found
  }

  has(name: string): boolean {
    return this.indexOf(name, 0) >= 0
  }

  /** The number of lines named `name`. */
  count(name: string): number {
    let lines = 0
    for (let index = this.indexOf(name, 0); index >= 0; index = this.indexOf(name, index + 1)) lines++
    return lines
  }

  /** The position of the first line named `name` at or after `from`, or -1. */
  indexOf(name: string, from: number): number {
    const id = headerId(name)
    if (id >= 0) return this.indexOfId(id, from)
    const lower = name.toLowerCase()
    for (let i = from; i < this.names.length; i++) {
      if (this.ids[i] === -1 && this.names[i]!.toLowerCase() === lower) return i
    }
    return -1
  }

  /** The position of the first line whose known-header id is `id`, at or after `from`, or -1. */
  indexOfId(id: number, from: number): number {
    const ids = this.ids
    for (let i = from; i < ids.length; i++) if (ids[i] === id) return i
    return -1
  }

  *[Symbol.iterator](): Iterator<readonly [string, string]> {
    for (let i = 0; i < this.values.length; i++) yield [this.names[i]!, this.values[i]!] as const
  }

  /** A copy without the lines named `name`. */
  without(name: string): Headers {
    return this.filter((i) => !this.isNamed(i, name))
  }

  /**
   * A copy where the lines named `name` are replaced by one line per value,
   * placed where the first of them was (at the end when there was none).
   */
  with(name: string, values: ReadonlyArray<string>): Headers {
    const at = this.indexOf(name, 0)
    const kept = this.without(name)
    const position = at < 0 ? kept.size : at
    return kept.insert(position, name, values)
  }

  /** A copy with one line per value added before the first line (`position` 0) or at `position`. */
  insert(position: number, name: string, values: ReadonlyArray<string>): Headers {
    const id = headerId(name)
    const canonical = canonicalName(name)
    const ids = this.ids.slice()
    const names = this.names.slice()
    const lines = this.values.slice()
    ids.splice(position, 0, ...values.map(() => id))
    names.splice(position, 0, ...values.map(() => canonical))
    lines.splice(position, 0, ...values)
    return new Headers(ids, names, lines)
  }

  /** A copy with these lines added at the end. */
  concat(other: Headers): Headers {
    return new Headers(
      [...this.ids, ...other.ids],
      [...this.names, ...other.names],
      [...this.values, ...other.values]
    )
  }

  private isNamed(index: number, name: string): boolean {
    const id = headerId(name)
    return id >= 0
      ? this.ids[index] === id
      : this.ids[index] === -1 && this.names[index]!.toLowerCase() === name.toLowerCase()
  }

  private filter(keep: (index: number) => boolean): Headers {
    const ids: Array<number> = []
    const names: Array<string> = []
    const values: Array<string> = []
    for (let i = 0; i < this.values.length; i++) {
      if (keep(i)) {
        ids.push(this.ids[i]!)
        names.push(this.names[i]!)
        values.push(this.values[i]!)
      }
    }
    return new Headers(ids, names, values)
  }
}

const isPairs = (init: HeadersInit): init is Iterable<readonly [string, string]> =>
  typeof (init as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
