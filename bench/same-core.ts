/**
 * The same-core A/B measurement, used by `npm run bench:ab` (bench/ab.ts) and by `npm run bench`
 * after its alternating rounds (bench/run.ts).
 *
 * Every scenario of a group runs its server on CPU 0 at the same time, each loaded by its own
 * autocannon from CPU 1 (the caller pins itself there). With all of them busy, the scheduler gives
 * each an equal share of the core, so each one's req/s is inversely proportional to its CPU cost
 * per request, and whatever else the machine does in that second slows all of them alike. On this VM,
 * where the alternating rounds swing ±10 % with the neighbours, the medians here repeat within
 * ±2–3 % (a scenario against a second copy of itself: medians 0.99–1.01×). Each round has its own
 * processes (see sameCore).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { coreBusySeconds, cpuSeconds } from './proc.js'
import { capturedPage, scenarioNamed, type Scenario } from './scenarios.js'

interface AutocannonResult { requests: { total: number }, errors: number, timeouts: number, statusCodeStats: Record<string, { count: number }> }
const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = fileURLToPath(new URL('./.js/server.js', import.meta.url))
const VIEWS = fileURLToPath(new URL('./views', import.meta.url))

/** How long and how hard a group is measured. */
export interface SameCoreSettings {
  readonly rounds: number
  /** Seconds per round. */
  readonly duration: number
  /** Connections per autocannon (one autocannon per server). */
  readonly connections: number
}

/** Each scenario's req/s per round, in the order of the group. */
export type RoundRates = ReadonlyMap<string, readonly number[]>

/**
 * Below this share of CPU 0 busy (with anything), a round did not keep the servers competing for
 * the core: the load generators on CPU 1 held them back, each server answered what it was sent
 * rather than what its share of the core allows, and the ratios drift toward 1. Other processes on
 * CPU 0 do not spoil the ratio: they take their share, and the servers split the rest evenly.
 */
export const SATURATED = 0.9

/** Seconds of load each fresh server gets alone before a round measures it (about 50,000 requests). */
const WARMUP_SECONDS = 1

/** A group's measurement: req/s per round, and per round how busy CPU 0 was and how much of it the servers used. */
export interface SameCoreResult {
  readonly rates: RoundRates
  readonly coreBusy: readonly number[]
  readonly serverShare: readonly number[]
}

/** Medians of how busy CPU 0 was and of the servers' share of it, and whether that kept them competing. */
export function saturation (result: SameCoreResult): { busy: number, share: number, saturated: boolean } {
  const busy = median(result.coreBusy)
  return { busy, share: median(result.serverShare), saturated: busy >= SATURATED }
}

const children = new Set<ChildProcess>()
process.on('exit', () => { for (const child of children) child.kill('SIGTERM') })

/** Starts one scenario's server on CPU 0; resolves with its URL once it prints its port. */
function start (scenario: Scenario, env: Record<string, string>): Promise<{ url: string, child: ChildProcess, pid: number }> {
  if (!existsSync(SERVER)) return Promise.reject(new Error(`${SERVER} is missing: the bench commands compile the servers first (npm run build:bench)`))
  const { variantOf } = scenario
  const name = variantOf?.scenario ?? scenario.name
  const build = variantOf === undefined ? {} : { BENCH_PACKAGE: variantOf.packageDir }
  const child = spawn('taskset', ['-c', '0', process.execPath, SERVER, name], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production', BENCH_VIEWS: VIEWS, ...env, ...build }, stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  let out = ''
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const port = /BENCH_READY (\d+)/.exec(out)?.[1]
      // taskset execs node: its pid is the server's.
      if (port !== undefined && child.pid !== undefined) resolve({ url: `http://127.0.0.1:${port}`, child, pid: child.pid })
    })
    child.once('exit', (code) => { reject(new Error(`${scenario.name}: server exited (${String(code)}) before it was ready`)) })
  })
}

/** Loads one server for `seconds`; its req/s, or an error when any answer was not the expected one. */
async function load (scenario: Scenario, url: string, seconds: number, connections: number): Promise<number> {
  const { method, path, headers } = scenario.request
  const result = await autocannon({ url: url + path, method, headers, connections, duration: seconds })
  const wrong = Object.entries(result.statusCodeStats).reduce((sum, [code, stat]) => Number(code) === scenario.status ? sum : sum + stat.count, 0)
  if (result.requests.total === 0 || result.errors > 0 || result.timeouts > 0 || wrong > 0) {
    throw new Error(`${scenario.name}: ${result.requests.total} answers, ${result.errors} connection errors, ${result.timeouts} timeouts, ${wrong} with another status than ${scenario.status}`)
  }
  return result.requests.total / seconds
}

/**
 * The environment that makes the constant-HTML references replay the plugin's own page, asked for
 * once from a plugin-html server; empty when `group` has none of them.
 */
export async function pageEnv (group: readonly Scenario[]): Promise<Record<string, string>> {
  if (!group.some((s) => s.replaysPage === true)) return {}
  const plugin = scenarioNamed('plugin-html')
  const { url, child } = await start(plugin, {})
  try {
    const { method, path, headers } = plugin.request
    const response = await fetch(url + path, { method, headers })
    return { BENCH_HTML_PAGE: JSON.stringify(capturedPage({ status: response.status, headers: response.headers, body: await response.text() })) }
  } finally {
    child.kill('SIGTERM')
  }
}

/**
 * Measures `group` side by side on CPU 0 and stops its servers: each scenario's req/s per round,
 * and how much of the core the servers used. `onRound` gets a line per round, for progress.
 *
 * Every round starts fresh server processes (and warms each alone first, WARMUP_SECONDS). One process of a scenario
 * keeps its speed for as long as it runs, but two processes of the same build can differ by a tenth:
 * the plugin's built-in page against its floor measured 0.945× in one process and 0.841× in the next,
 * in the same seconds (bench/README.md). The median over the rounds is then a median over processes,
 * not the luck of one start.
 */
export async function sameCore (group: readonly Scenario[], settings: SameCoreSettings, onRound: (line: string) => void = () => {}): Promise<SameCoreResult> {
  const env = await pageEnv(group)
  const rates = group.map((): number[] => [])
  const coreBusy: number[] = []
  const serverShare: number[] = []
  for (let round = 0; round < settings.rounds; round++) {
    const servers = await Promise.all(group.map(async (s) => await start(s, env)))
    try {
      // Warmed one at a time, each with the core to itself: warmed together, a server of a group of nine
      // gets a ninth of the core, too little for the JIT to finish with it before the round is measured.
      for (const [i, s] of group.entries()) await load(s, servers[i].url, WARMUP_SECONDS, settings.connections)
      const serversCpu = (): number => servers.reduce((sum, { pid }) => sum + cpuSeconds(pid), 0)
      const cpuBefore = serversCpu()
      const busyBefore = coreBusySeconds(0)
      const started = process.hrtime.bigint()
      const measured = await Promise.all(group.map(async (s, i) => await load(s, servers[i].url, settings.duration, settings.connections)))
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const share = (serversCpu() - cpuBefore) / seconds
      const busy = (coreBusySeconds(0) - busyBefore) / seconds
      coreBusy.push(busy)
      serverShare.push(share)
      measured.forEach((rate, i) => { rates[i].push(rate) })
      onRound(`same-core round ${round + 1}/${settings.rounds}  ${measured.map((r, i) => `${group[i].name} ${Math.round(r)}`).join('  ')} req/s  CPU 0 ${Math.round(busy * 100)} % busy, ${Math.round(share * 100)} % by the servers`)
    } finally {
      await Promise.all(servers.map(async ({ child }) => await stop(child)))
    }
  }
  return { rates: new Map(group.map((s, i) => [s.name, rates[i]])), coreBusy, serverShare }
}

/**
 * Stops a server and waits for it to be gone, so the next round's servers have the core to themselves.
 * A server still there after STOP_GRACE_MS (stuck, not exiting on SIGTERM) is killed, so a round never hangs.
 */
async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  child.kill('SIGTERM')
  const stuck = setTimeout(() => { child.kill('SIGKILL') }, STOP_GRACE_MS)
  await gone
  clearTimeout(stuck)
}

/** How long a server may take to exit on SIGTERM (it exits at once: bench/server.ts). */
const STOP_GRACE_MS = 5000

/** `numerator`'s req/s over `denominator`'s, round by round (measured in the same seconds). */
export function roundRatios (rates: RoundRates, numerator: string, denominator: string): number[] {
  const num = rates.get(numerator)
  const den = rates.get(denominator)
  if (num === undefined || den === undefined) throw new Error(`${numerator} / ${denominator}: not measured side by side`)
  // Both measured in every round of their group, each with answers (load() fails a round without).
  return num.map((rate, i) => rate / den[i])
}

/** The median of a non-empty list. */
export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
