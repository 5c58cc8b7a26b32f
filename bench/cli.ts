/**
 * The command lines of the bench scripts (bench/run.ts, bench/ab.ts): a mistake in one (an unknown
 * flag, a bad number, an unknown scenario name) is said in one line and ends the process with exit
 * code 2, without a stack trace, before any server starts.
 */
export function parseOrExit<T> (parse: () => T): T {
  try {
    return parse()
  } catch (mistake) {
    console.error(mistake instanceof Error ? mistake.message : String(mistake))
    process.exit(2)
  }
}
