/**
 * Command-line arguments of the benchmark scripts: `--name value` flags and
 * the bare numbers (the rows to run).
 */

/** The number after `name`, or `fallback` when the flag is absent. */
export const flag = (args: ReadonlyArray<string>, name: string, fallback: number): number => {
  const at = args.indexOf(name)
  return at === -1 ? fallback : Number(args[at + 1])
}

/** The numbers that are not the value of a `--flag`. */
export const rows = (args: ReadonlyArray<string>): ReadonlyArray<number> =>
  args.filter((arg, i) => /^\d+$/.test(arg) && !args[i - 1]?.startsWith("--")).map(Number)
