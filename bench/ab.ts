/**
 * `npm run bench:ab -- <reference> <scenario> [<scenario>…]`: a same-core A/B comparison of the
 * named scenarios (bench/same-core.ts says how and why). It is the tool for finding what costs what;
 * `npm run bench` ends with the same measurement for every performance target.
 *
 * Flags: --rounds 8 --duration 3 (seconds per round) --connections 10, and --before <git ref>: every
 * scenario of the plugin runs twice, on this checkout's build and on the build of <ref> (its files,
 * unpacked into a temporary folder and built with this checkout's node_modules), side by side on the
 * same core. That is the A/B a change of the code is kept by: "name@ref" is the build before it.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseOrExit } from './cli.js'
import { scenarioNamed, type Scenario } from './scenarios.js'
import { median, roundRatios, sameCore, saturation, SATURATED } from './same-core.js'

/** The command line, checked before any server starts (bench/cli.ts: a mistake is one line, exit 2). */
function commandLine (): { group: Scenario[], before: { ref: string, commit: string } | undefined, rounds: number, duration: number, connections: number } {
  const { values: flags, positionals } = parseArgs({
    options: {
      rounds: { type: 'string', default: '8' },
      duration: { type: 'string', default: '3' },
      connections: { type: 'string', default: '10' },
      before: { type: 'string' }
    },
    allowPositionals: true,
    strict: true
  })
  const rounds = Number(flags.rounds)
  const duration = Number(flags.duration)
  const connections = Number(flags.connections)
  for (const [name, value] of [['rounds', rounds], ['duration', duration], ['connections', connections]] as const) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a whole number above 0, got "${String(flags[name])}"`)
  }
  if (positionals.length < 2) throw new Error('usage: npm run bench:ab -- <reference> <scenario> [<scenario>…] (names from `npm run bench -- --list`)')
  const group = positionals.map(scenarioNamed)
  if (flags.before === undefined) return { group, before: undefined, rounds, duration, connections }
  if (!group.some((scenario) => scenario.plugin)) throw new Error('--before compares builds of the plugin: name at least one scenario of the plugin')
  return { group, before: { ref: flags.before, commit: commitOf(flags.before) }, rounds, duration, connections }
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The commit `ref` names, or an error that says it names none. */
function commitOf (ref: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    throw new Error(`--before "${ref}" names no commit of this repository (a commit, a branch, HEAD~1)`)
  }
}

/**
 * The package as it was at `commit`, built in a temporary folder: `git archive` of the commit (no work
 * tree of the repository is touched), this checkout's node_modules linked in, scripts/build.mjs run.
 */
function buildAt (commit: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ffe-bench-before-'))
  process.on('exit', () => { rmSync(dir, { recursive: true, force: true }) })
  const tarball = execFileSync('git', ['archive', commit], { cwd: ROOT, maxBuffer: 1 << 30 })
  execFileSync('tar', ['-x', '-C', dir], { input: tarball })
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
  return dir
}

/** Each plugin scenario of the group, followed by its copy on the build at `commit` (named `name@ref`). */
function withBefore (group: Scenario[], ref: string, commit: string): { group: Scenario[], pairs: Array<[Scenario, Scenario]> } {
  const packageDir = buildAt(commit)
  const pairs: Array<[Scenario, Scenario]> = []
  const all = group.flatMap((scenario) => {
    if (!scenario.plugin) return [scenario]
    const variant = { ...scenario, name: `${scenario.name}@${ref}`, variantOf: { scenario: scenario.name, packageDir } }
    pairs.push([scenario, variant])
    return [scenario, variant]
  })
  return { group: all, pairs }
}

const { group: named, before, rounds, duration, connections } = parseOrExit(commandLine)

async function main (): Promise<void> {
  // The load generator on the other core, as bench/run.ts does (servers: CPU 0).
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  const { group, pairs } = before === undefined ? { group: named, pairs: [] } : withBefore(named, before.ref, before.commit)
  const result = await sameCore(group, { rounds, duration, connections }, (line) => { console.log(line) })
  const { rates } = result
  const reference = group[0].name
  console.log(`\nsame-core A/B, ${rounds} rounds × ${duration} s, ${connections} connections each; ratio = req/s ÷ ${reference}'s in the same second:`)
  for (const scenario of group.slice(1)) {
    const list = roundRatios(rates, scenario.name, reference)
    console.log(`  ${scenario.name.padEnd(20)} ${median(list).toFixed(3)}×  (rounds ${Math.min(...list).toFixed(2)}–${Math.max(...list).toFixed(2)})`)
  }
  if (before !== undefined) console.log(`this build ÷ the build of ${before.ref}, in the same seconds (above 1: this build is cheaper):`)
  for (const [scenario, variant] of pairs) {
    const list = roundRatios(rates, scenario.name, variant.name)
    console.log(`  ${scenario.name.padEnd(20)} ${median(list).toFixed(3)}×  (rounds ${Math.min(...list).toFixed(2)}–${Math.max(...list).toFixed(2)})`)
  }
  const { busy, share, saturated } = saturation(result)
  const usage = `CPU 0 was ${Math.round(busy * 100)} % busy, ${Math.round(share * 100)} % of it by the servers (medians of the rounds)`
  console.log(saturated
    ? `${usage}: the servers competed for the core, the ratios measure their cost`
    : `${usage}: below ${SATURATED * 100} % the load generators held the servers back, the ratios drift toward 1 and do not measure cost; re-run on an idle machine`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
})
