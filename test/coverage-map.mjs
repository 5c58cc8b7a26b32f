// tap's coverage map: every test counts towards the library's coverage (index.ts and lib/), which
// must stay at 100 %. The examples and the bench are programs exercised by their own tests and
// measured by what they show, not held to line coverage.
import { readdirSync } from 'node:fs'

const library = ['index.ts', ...readdirSync(new URL('../lib/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => `lib/${f}`)]

export default function coverageMap () {
  return library
}
