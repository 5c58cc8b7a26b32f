/**
 * `npm run bench`: autocannon against each scenario of bench/scenarios.ts, each in its own server
 * process on 127.0.0.1, reported as req/s ratios against plain-Fastify references of the same run,
 * then every ratio measured once more side by side on one core (bench/same-core.ts), and each
 * target's verdict read from both (bench/verdict.ts).
 *
 * Honesty rules: every scenario gets the same connections, pipelining and duration; scenarios
 * alternate over rounds (rotated and reversed order); the table shows medians over rounds (leaving
 * out rounds other processes disturbed, when most were not); the server is pinned to CPU 0 and
 * this process (the load generator) to CPU 1 when `taskset` exists; each scenario is validated
 * (status and body) before it is measured, and a round whose responses are not all the expected
 * status fails the scenario instead of measuring errors. Server, load-generator and foreign CPU
 * use are recorded per round: a server below ~90 % of its core was not the bottleneck.
 *
 * Flags: --rounds 5 --duration 5 --warmup 2 --connections 10 --pipelining 1
 *        --retries 1 --max-wait 15 --noise-budget 180   (shared machines: see waitForQuiet)
 *        --nice N   (root: raise the bench's CPU priority by N over other jobs on a shared machine)
 *        --ab-rounds 6 --ab-duration 3   (the same-core A/B of every ratio that ends the run;
 *                                         --ab-rounds 0 leaves it out, and rows near their line
 *                                         stay undecided)
 *        --only name,name   --skip name,name   --list
 *        --profile name[,name]  (run those scenarios once under `node --cpu-prof` and print the
 *                                functions that take the server's time, instead of the table)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, setPriority, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { capturedPage, scenarios, targets, scenarioNamed, type Answer, type CapturedPage, type Scenario, type Target, type TargetKind } from './scenarios.js'
import { decide, verdictMark, NEAR_SHARE, type Alternating, type Measured, type Verdict } from './verdict.js'
import { median, roundRatios, sameCore, saturation, SATURATED } from './same-core.js'
import { parseOrExit } from './cli.js'
import { cpuSeconds, machineCpuSeconds } from './proc.js'

// ---------------------------------------------------------------------------------------------
// autocannon (no type declarations ship with it: the part we use, typed here)

interface AutocannonOptions {
  url: string
  method: string
  headers: Record<string, string>
  connections: number
  pipelining: number
  duration: number
}
interface AutocannonResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  statusCodeStats: Record<string, { count: number }>
  latency: { p50: number, p99: number, average: number }
  requests: { total: number, average: number }
}
const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>

// ---------------------------------------------------------------------------------------------
// Options

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The server compiled to JavaScript by `npm run build:bench` (see bench/server.ts for why not tsx). */
const SERVER = fileURLToPath(new URL('./.js/server.js', import.meta.url))
const VIEWS = fileURLToPath(new URL('./views', import.meta.url))
const RESULTS = fileURLToPath(new URL('./results', import.meta.url))

function positive (name: string, raw: string | undefined, integer: boolean): number {
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw ?? ''}"`)
  }
  return value
}

interface Settings {
  rounds: number
  duration: number
  warmup: number
  connections: number
  pipelining: number
  retries: number
  /** Seconds to wait, before one measurement, for other processes to leave the CPUs alone. */
  maxWait: number
  /** Seconds of such waiting and of re-measuring disturbed rounds allowed over the whole run. */
  noiseBudget: number
  /** Raise the servers' and this process's priority by this much (`nice -n -N`; needs root). */
  nice: number
}

/** The command line, checked before anything starts (bench/cli.ts: a mistake is one line, exit 2). */
function commandLine () {
  const { values: flags } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '10' },
      pipelining: { type: 'string', default: '1' },
      retries: { type: 'string', default: '1' },
      'max-wait': { type: 'string', default: '15' },
      'noise-budget': { type: 'string', default: '180' },
      nice: { type: 'string', default: '0' },
      'ab-rounds': { type: 'string', default: '6' },
      'ab-duration': { type: 'string', default: '3' },
      only: { type: 'string' },
      skip: { type: 'string' },
      profile: { type: 'string' },
      list: { type: 'boolean', default: false }
    },
    strict: true
  })
  const settings: Settings = {
    rounds: positive('rounds', flags.rounds, true),
    duration: positive('duration', flags.duration, true),
    warmup: positive('warmup', flags.warmup, true),
    connections: positive('connections', flags.connections, true),
    pipelining: positive('pipelining', flags.pipelining, true),
    retries: Number(flags.retries),
    maxWait: Number(flags['max-wait']),
    noiseBudget: Number(flags['noise-budget']),
    nice: Number(flags.nice)
  }
  if (!Number.isInteger(settings.nice) || settings.nice < 0 || settings.nice > 20) throw new Error(`--nice must be 0…20 (how much to raise the bench's priority), got "${flags.nice ?? ''}"`)
  for (const key of ['max-wait', 'noise-budget'] as const) {
    const value = Number(flags[key])
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${key} must be a number of seconds ≥ 0, got "${flags[key] ?? ''}"`)
  }
  if (!Number.isInteger(settings.retries) || settings.retries < 0) throw new Error(`--retries must be a whole number, got "${flags.retries ?? ''}"`)
  const abRounds = Number(flags['ab-rounds'])
  if (!Number.isInteger(abRounds) || abRounds < 0) throw new Error(`--ab-rounds must be a whole number (0: no same-core A/B), got "${flags['ab-rounds'] ?? ''}"`)
  const abDuration = positive('ab-duration', flags['ab-duration'], true)
  return {
    flags,
    settings,
    abRounds,
    abDuration,
    only: names(flags.only),
    skip: new Set(names(flags.skip)),
    profiled: names(flags.profile).map(scenarioNamed)
  }
}

const { flags, settings, abRounds, abDuration, only, skip, profiled } = parseOrExit(commandLine)

function names (raw: string | undefined): string[] {
  return raw === undefined ? [] : raw.split(',').map((n) => n.trim()).filter((n) => n !== '').map((n) => scenarioNamed(n).name)
}

// ---------------------------------------------------------------------------------------------
// Machine and CPU pinning

const hasTaskset = commandExists('taskset')
const cores = cpus().length
const pinned = hasTaskset && cores >= 2

function commandExists (command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function versionOf (pkg: string): string {
  const file = join(ROOT, 'node_modules', pkg, 'package.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : 'not installed'
}

function gitCommit (): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'index.ts', 'lib'], { cwd: ROOT, encoding: 'utf8' }).trim() !== ''
    return dirty ? `${head} + uncommitted index.ts/lib changes` : head
  } catch {
    return 'unknown'
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
/** Seconds spent so far waiting for quiet and re-measuring disturbed rounds (--noise-budget). */
let noiseSpent = 0

/**
 * Waits (at most --max-wait seconds, within --noise-budget over the run) until other processes have
 * left the CPUs alone for half a second: other jobs on a shared machine run in bursts, and a
 * measurement taken during one compares the noise, not the code. Returns the seconds waited.
 */
async function waitForQuiet (): Promise<number> {
  const started = Date.now()
  const limit = Math.min(settings.maxWait, Math.max(0, settings.noiseBudget - noiseSpent)) * 1000
  let quiet = 0
  while (Date.now() - started < limit) {
    const machine = machineCpuSeconds()
    const own = process.cpuUsage()
    await sleep(250)
    const used = process.cpuUsage(own)
    const foreign = machineCpuSeconds() - machine - (used.user + used.system) / 1e6
    quiet = foreign / 0.25 < FOREIGN_LIMIT / 2 ? quiet + 1 : 0
    if (quiet >= 2) break
  }
  const waited = (Date.now() - started) / 1000
  noiseSpent += waited
  return waited
}

/**
 * Gives the bench CPU priority over other jobs (root only). With autogroup scheduling (the Linux
 * default) `nice` only ranks processes within one session, so the session's autogroup is niced too,
 * and put back when this process exits. The servers also start under `nice`; autocannon runs on
 * this process's main thread.
 */
function raisePriority (by: number): void {
  setPriority(process.pid, -by)
  const file = '/proc/self/autogroup'
  if (!existsSync(file)) return
  const before = /nice (-?\d+)/.exec(readFileSync(file, 'utf8'))?.[1]
  writeFileSync(file, String(-by))
  if (before !== undefined) process.on('exit', () => { writeFileSync(file, before) })
}

// ---------------------------------------------------------------------------------------------
// Server processes

interface Server {
  readonly scenario: Scenario
  readonly child: ChildProcess
  readonly pid: number
  readonly url: string
  readonly stderr: () => string
}

const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) child.kill('SIGTERM')
    process.exit(130)
  })
}

const START_TIMEOUT_MS = 60_000
/** Share of a core other processes may use during a round before it is measured again. */
const FOREIGN_LIMIT = 0.1

/** Starts one scenario's server; resolves once it prints its port. */
function startServer (scenario: Scenario, env: Record<string, string>, nodeFlags: string[] = []): Promise<Server> {
  if (!existsSync(SERVER)) return Promise.reject(new Error(`${SERVER} is missing: run the bench with \`npm run bench\` (it compiles the servers first with \`npm run build:bench\`)`))
  const command = [
    ...(settings.nice > 0 ? ['nice', '-n', String(-settings.nice)] : []),
    ...(pinned ? ['taskset', '-c', '0'] : []),
    process.execPath, ...nodeFlags, SERVER, scenario.name
  ]
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production', BENCH_VIEWS: VIEWS, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err = (err + chunk).slice(-8000) })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM')
      reject(new Error(`${scenario.name}: server did not start within ${START_TIMEOUT_MS / 1000} s\n${err}`))
    }, START_TIMEOUT_MS)
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const match = /BENCH_READY (\d+)/.exec(out)
      if (match !== null && child.pid !== undefined) {
        clearTimeout(timer)
        resolve({ scenario, child, pid: child.pid, url: `http://127.0.0.1:${match[1]}`, stderr: () => err })
      }
    })
    child.once('exit', (code, signal) => {
      children.delete(child)
      clearTimeout(timer)
      reject(new Error(`${scenario.name}: server exited (${code ?? signal}) before it was ready\n${err.trim()}`))
    })
  })
}

function stopServer (server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      resolve()
      return
    }
    // SIGINT first, so a --cpu-prof server writes its profile; SIGTERM, then SIGKILL if it lingers.
    const escalate = setTimeout(() => { server.child.kill('SIGTERM') }, 5000)
    const last = setTimeout(() => { server.child.kill('SIGKILL') }, 10_000)
    server.child.once('exit', () => {
      clearTimeout(escalate)
      clearTimeout(last)
      children.delete(server.child)
      resolve()
    })
    server.child.kill('SIGINT')
  })
}

async function ask (server: Server): Promise<Answer> {
  const { method, path, headers } = server.scenario.request
  const response = await fetch(server.url + path, { method, headers })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

async function capturePage (server: Server): Promise<CapturedPage> {
  return capturedPage(await ask(server))
}

// ---------------------------------------------------------------------------------------------
// Load

interface Round {
  round: number
  reqPerSec: number
  p50: number
  p99: number
  serverCpu: number
  loadCpu: number
  foreignCpu: number
  attempts: number
  cpuMicrosPerRequest: number
  requests: number
}

interface Load {
  result: AutocannonResult
  /** Server CPU seconds. */
  cpu: number
  /** This process's CPU seconds (autocannon). */
  loadCpu: number
  /** CPU seconds used by everything else on the machine (other jobs, the hypervisor's steal). */
  foreignCpu: number
  problem: string | undefined
}

async function load (server: Server, duration: number): Promise<Load> {
  const { method, path, headers } = server.scenario.request
  const before = cpuSeconds(server.pid)
  const ownBefore = process.cpuUsage()
  const machineBefore = machineCpuSeconds()
  const result = await autocannon({
    url: server.url + path,
    method,
    headers,
    connections: settings.connections,
    pipelining: settings.pipelining,
    duration
  })
  const cpu = cpuSeconds(server.pid) - before
  const own = process.cpuUsage(ownBefore)
  const loadCpu = (own.user + own.system) / 1e6
  const foreignCpu = Math.max(0, machineCpuSeconds() - machineBefore - cpu - loadCpu)
  return { result, cpu, loadCpu, foreignCpu, problem: loadProblem(server.scenario, result) }
}

function loadProblem (scenario: Scenario, result: AutocannonResult): string | undefined {
  const codes = Object.entries(result.statusCodeStats).filter(([code]) => Number(code) !== scenario.status)
  const wrong = codes.reduce((sum, [, stat]) => sum + stat.count, 0)
  if (result.requests.total === 0) return 'no responses at all'
  if (wrong > 0) return `${wrong} of ${result.requests.total} responses had another status than ${scenario.status}: ${codes.map(([c, s]) => `${c}×${s.count}`).join(', ')}`
  if (result.errors > 0 || result.timeouts > 0) return `${result.errors} connection errors, ${result.timeouts} timeouts`
  return undefined
}

/** Round r's order: the list rotated by r, reversed on odd rounds, so no scenario always goes first or last. */
function orderFor<T> (list: readonly T[], round: number): T[] {
  const shift = list.length === 0 ? 0 : (round * 3) % list.length
  const rotated = [...list.slice(shift), ...list.slice(0, shift)]
  return round % 2 === 1 ? rotated.reverse() : rotated
}

// ---------------------------------------------------------------------------------------------
// Report

interface ScenarioReport {
  name: string
  title: string
  request: string
  status: number
  failed: string | undefined
  rounds: Round[]
  /** The rounds the medians are taken over: the undisturbed ones when they are at least half. */
  used: Round[]
  /** Too few undisturbed rounds: the medians include disturbed ones. */
  noisy: boolean
  median: { reqPerSec: number, p99: number, serverCpu: number, loadCpu: number, cpuMicrosPerRequest: number } | undefined
}

/** One ratio as the alternating rounds measured it. */
interface TargetReport extends Target {
  /**
   * Median req/s over median req/s, with the paired rounds' ratios, and whether either side's medians
   * include rounds other processes disturbed; undefined when a side was not measured.
   */
  alternating: Alternating | undefined
  /** The same ratio by server CPU time per request (medians). */
  cpuRatio: number | undefined
}

/** A same-core ratio, and whether its group's servers were kept busy (only then does it decide). */
interface SameCoreMeasured extends Measured {
  saturated: boolean
}

/** A ratio with both measures of the run and, for a target or guard, its verdict. */
interface RowReport extends TargetReport {
  ab: SameCoreMeasured | undefined
  verdict: Verdict | undefined
}

function fmt (value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function targetReports (reports: Map<string, ScenarioReport>): TargetReport[] {
  return targets.filter((t) => reports.has(t.numerator) || reports.has(t.denominator)).map((t) => {
    const num = reports.get(t.numerator)
    const den = reports.get(t.denominator)
    if (num?.median === undefined || den?.median === undefined) return { ...t, alternating: undefined, cpuRatio: undefined }
    const ratio = num.median.reqPerSec / den.median.reqPerSec
    // Paired by round (measured close in time), over rounds both sides use.
    const rounds = num.used.map((r) => r.reqPerSec / (den.used.find((d) => d.round === r.round)?.reqPerSec ?? NaN)).filter(Number.isFinite)
    const cpuRatio = den.median.cpuMicrosPerRequest / num.median.cpuMicrosPerRequest
    return { ...t, alternating: { ratio, rounds, disturbed: num.noisy || den.noisy }, cpuRatio }
  })
}

/** Both measures of every ratio, and the verdicts (bench/verdict.ts says how they are decided). */
function rowReports (checks: readonly TargetReport[], ab: ReadonlyMap<string, SameCoreMeasured>): RowReport[] {
  return checks.map((c) => {
    const measured = ab.get(`${c.numerator}/${c.denominator}`)
    const deciding = measured?.saturated === true ? measured : undefined
    return { ...c, ab: measured, verdict: c.min === undefined ? undefined : decide(c.min, c.alternating, deciding) }
  })
}

function cell (measured: Alternating | SameCoreMeasured | undefined): string {
  if (measured === undefined) return '—'
  const starved = 'saturated' in measured && !measured.saturated
    ? ', not saturated'
    : 'disturbed' in measured && measured.disturbed ? ', disturbed' : ''
  if (measured.rounds.length === 0) return `${measured.ratio.toFixed(3)}×${starved}`
  return `${measured.ratio.toFixed(3)}× (${Math.min(...measured.rounds).toFixed(2)}–${Math.max(...measured.rounds).toFixed(2)}${starved})`
}

function scenarioTable (reports: Map<string, ScenarioReport>): string[] {
  const lines = [
    '| scenario | req/s (median) | p99 ms | server CPU | µs CPU/req | rounds |',
    '|---|---:|---:|---:|---:|---:|'
  ]
  for (const report of reports.values()) {
    const m = report.median
    const cells = m === undefined
      ? [`**FAILED**: ${(report.failed ?? 'not measured').split('\n')[0].slice(0, 140).replaceAll('|', '\\|')}`, '', '', '', '']
      : [fmt(m.reqPerSec), fmt(m.p99), `${fmt(m.serverCpu * 100)} %`, fmt(m.cpuMicrosPerRequest, 1), `${report.used.length}/${report.rounds.length}${report.noisy ? ' (noisy)' : ''}`]
    lines.push(`| ${report.name} — ${report.title} | ${cells.join(' | ')} |`)
  }
  return lines
}

const KIND_TITLES: Record<TargetKind, string> = {
  target: 'Targets',
  guard: 'Guards (how a cost grows with the app)',
  context: 'Context (no verdict)'
}

function rowTable (rows: readonly RowReport[], kind: TargetKind): string[] {
  const of = rows.filter((r) => r.kind === kind)
  if (of.length === 0) return []
  const lines = [`### ${KIND_TITLES[kind]}`, '']
  if (kind === 'context') {
    lines.push('| ratio | vs | alternating (rounds) | by CPU/req | same-core A/B (rounds) |', '|---|---|---:|---:|---:|')
    for (const r of of) lines.push(`| ${r.label} (${r.numerator}) | ${r.denominator} | ${cell(r.alternating)} | ${r.cpuRatio === undefined ? '—' : `${r.cpuRatio.toFixed(3)}×`} | ${cell(r.ab)} |`)
    return lines
  }
  lines.push('| ratio | vs | alternating (rounds) | by CPU/req | same-core A/B (rounds) | line | near | verdict | decided by |', '|---|---|---:|---:|---:|---:|:---:|:---:|---|')
  for (const r of of) {
    const v = r.verdict as Verdict
    const notes = v.caveat
    lines.push(`| ${r.label} (${r.numerator}) | ${r.denominator} | ${cell(r.alternating)} | ${r.cpuRatio === undefined ? '—' : `${r.cpuRatio.toFixed(3)}×`} | ${cell(r.ab)} | ≥ ${(r.min as number).toFixed(3)}× | ${v.near ? 'yes' : 'no'} | ${verdictMark(v)} | ${v.by}${notes === '' ? '' : ` — ${notes}`} |`)
  }
  const held = of.filter((r) => r.verdict?.holds === true).length
  const undecided = of.filter((r) => r.verdict?.holds === undefined).length
  lines.push('', `${KIND_TITLES[kind].split(' (')[0]} held: ${held} of ${of.length}${undecided > 0 ? ` (${undecided} undecided)` : ''}.`)
  return lines
}

function markdown (reports: Map<string, ScenarioReport>, rows: readonly RowReport[], header: string[], notes: string[]): string {
  const lines = [...header, '', ...scenarioTable(reports), '']
  lines.push(
    `A ratio is the numerator's req/s ÷ the reference's ("vs"). "alternating": medians of the rounds above; "same-core A/B": the servers of a group side by side on CPU 0 (${abRounds} rounds × ${abDuration} s, bench/same-core.ts). ` +
    `A line is "near" when it lies in the alternating ratio's noise band (the range its rounds spanned, at least ±${NEAR_SHARE * 100} % of the median), or wherever it lies when the alternating medians kept disturbed rounds; ` +
    'near the line the A/B decides, elsewhere the alternating ratio does (bench/verdict.ts).',
    ''
  )
  for (const kind of ['target', 'guard', 'context'] as const) {
    const table = rowTable(rows, kind)
    if (table.length > 0) lines.push(...table, '')
  }
  if (notes.length > 0) lines.push(...notes.map((n) => `> ${n}`))
  return lines.join('\n').trimEnd()
}

// ---------------------------------------------------------------------------------------------
// Same-core A/B of the ratios: the alternating rounds above measure each server alone on its core,
// as the targets were first set, but on a shared VM a ratio there also measures which seconds the
// neighbours were busy in. The same ratios measured side by side (bench/same-core.ts) repeat far
// more tightly, so the run ends with them, and they decide the verdicts near the line.

/** One same-core group: the servers run side by side, and the ratios read from them. */
interface AbGroup {
  readonly scenarios: readonly Scenario[]
  readonly ratios: readonly Target[]
}

/**
 * The A/B groups: each target and guard alone (its reference first, then its scenario), because a pair
 * shares the core most steadily — in groups of four to nine servers, rounds of one scenario spread from
 * 0.71× to 0.96× of its floor where its pair spread 0.95–0.98× (bench/README.md); then the context rows'
 * scenarios in groups that share a reference (connected by ratios), in scenario order.
 */
function targetGroups (measured: ReadonlySet<string>): AbGroup[] {
  const has = (t: Target): boolean => measured.has(t.numerator) && measured.has(t.denominator)
  const pairs = targets.filter((t) => t.kind !== 'context' && has(t))
    .map((t) => ({ scenarios: [scenarioNamed(t.denominator), scenarioNamed(t.numerator)], ratios: [t] }))
  const context = targets.filter((t) => t.kind === 'context' && has(t))
  const group = new Map<string, Set<string>>()
  for (const t of context) {
    const a = group.get(t.numerator) ?? new Set([t.numerator])
    const b = group.get(t.denominator) ?? new Set([t.denominator])
    const merged = a === b ? a : new Set([...a, ...b])
    for (const name of merged) group.set(name, merged)
  }
  const shared = [...new Set(group.values())].map((names) => ({
    scenarios: scenarios.filter((s) => names.has(s.name)),
    ratios: context.filter((t) => names.has(t.numerator))
  }))
  return [...pairs, ...shared]
}

/**
 * Every ratio measured side by side, keyed `numerator/denominator`, each read from its own group. A
 * group whose servers fail (a wrong answer under load) is said in `notes` and leaves its ratios to the
 * alternating measure.
 */
async function sameCoreRatios (measured: ReadonlySet<string>, notes: string[]): Promise<Map<string, SameCoreMeasured>> {
  const out = new Map<string, SameCoreMeasured>()
  for (const { scenarios: group, ratios } of targetGroups(measured)) {
    const names = group.map((s) => s.name).join(', ')
    console.log(`\nsame-core A/B: ${names}`)
    try {
      const result = await sameCore(group, { rounds: abRounds, duration: abDuration, connections: settings.connections }, (line) => { console.log(line) })
      const { busy, share, saturated } = saturation(result)
      for (const t of ratios) {
        const list = roundRatios(result.rates, t.numerator, t.denominator)
        out.set(`${t.numerator}/${t.denominator}`, { ratio: median(list), rounds: list, saturated })
      }
      if (!saturated) {
        // Servers that were not kept busy answer what they are sent: their ratios say nothing of
        // their cost, so they are shown but decide nothing (rows near their line stay undecided).
        notes.push(`same-core A/B of ${names} decides nothing: CPU 0 was only ${fmt(busy * 100)} % busy (${fmt(share * 100)} % by the servers; below ${SATURATED * 100} % the load generators held them back; marked "not saturated").`)
      }
    } catch (error) {
      // The alternating rounds validated these servers; a failure here is reported, and the
      // group's rows keep their alternating measure (a row near its line stays undecided).
      const why = error instanceof Error ? error.message : String(error)
      console.error(`FAIL same-core A/B of ${names}: ${why}`)
      notes.push(`same-core A/B of ${names} failed: ${why.split('\n')[0]}`)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Profiling: `--profile name` runs one scenario under --cpu-prof and summarises where time goes

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

function shortUrl (url: string): string {
  const path = url.replace(/^file:\/\//, '')
  const at = path.indexOf('node_modules/')
  if (at !== -1) return path.slice(at + 'node_modules/'.length)
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path
}

/** Self time per function and per module over the profile's last `windowSeconds` (the measured load). */
function summariseProfile (file: string, windowSeconds: number, requests: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  // Inclusive time of the plugin's own functions: what each costs with everything it calls.
  const inclusive = new Map<string, number>()
  const self = new Map<string, number>()
  const byModule = new Map<string, number>()
  let total = 0
  const span = profile.timeDeltas.reduce((sum, dt) => sum + dt, 0)
  const from = span - windowSeconds * 1e6
  let at = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])
    const dt = profile.timeDeltas[i] ?? 0
    at += dt
    if (node === undefined || at < from) continue
    total += dt
    const frame = node.callFrame
    const where = frame.url === '' ? '(native)' : shortUrl(frame.url)
    const line = `:${frame.lineNumber + 1}`
    const key = `${frame.functionName === '' ? '(anonymous)' : frame.functionName}  ${where}${line}`
    self.set(key, (self.get(key) ?? 0) + dt)
    const module = frame.url === '' ? frame.functionName : moduleOf(where)
    byModule.set(module, (byModule.get(module) ?? 0) + dt)
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parents.get(id)) {
      const up = byId.get(id)?.callFrame
      if (up === undefined || !isPluginUrl(up.url)) continue
      const name = `${up.functionName === '' ? '(anonymous)' : up.functionName}  ${shortUrl(up.url)}`
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt)
    }
  }
  const idle = (self.get('(idle)  (native):0') ?? 0)
  const busy = total - idle
  if (busy === 0) return 'no busy samples in the measured window'
  // Share of the busy time, and microseconds per request (samples over the requests of the window).
  const pct = (v: number): string => `${(100 * v / busy).toFixed(1).padStart(5)} % ${(v / requests).toFixed(2).padStart(6)} µs`
  const top = [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 30)
  const modules = [...byModule.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 15)
  const plugin = [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)
  return [
    `busy ${(busy / 1e6).toFixed(2)} s of the last ${(total / 1e6).toFixed(2)} s (the measured load; start-up and warm-up left out), ≈${fmt(requests)} requests: ${(busy / requests).toFixed(1)} µs/request`,
    'self time by module:',
    ...modules.map(([k, v]) => `  ${pct(v)}  ${k}`),
    'self time by function (top 30):',
    ...top.map(([k, v]) => `  ${pct(v)}  ${k}`),
    "the plugin's functions, inclusive of what they call:",
    ...plugin.map(([k, v]) => `  ${pct(v)}  ${k}`)
  ].join('\n')
}

/** The plugin's own files, relative to the project: the built package the servers load, or its source. */
const PLUGIN_FILE = /^(?:dist\/esm\/)?(?:lib\/[^/]+|index)\.[jt]s$/

function isPluginUrl (url: string): boolean {
  const path = url.replace(/^file:\/\//, '')
  return path.startsWith(ROOT) && PLUGIN_FILE.test(path.slice(ROOT.length))
}

function moduleOf (where: string): string {
  if (where.startsWith('node:')) return 'node internals'
  const file = where.replace(/:\d+$/, '')
  if (PLUGIN_FILE.test(file)) return `plugin ${file.replace(/^dist\/esm\//, '')}`
  const parts = where.split('/')
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
}

function busyMicros (file: string): number {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
  let busy = 0
  for (let i = 0; i < profile.samples.length; i++) if (!idle.has(profile.samples[i])) busy += profile.timeDeltas[i] ?? 0
  return busy
}

async function profile (list: Scenario[], env: Record<string, string>): Promise<void> {
  for (const scenario of list) {
    // One folder per run: Node writes a profile per thread (a worker, if any, gets its own), and the
    // server's own work is the busiest of them.
    const dir = join(RESULTS, 'profiles', `${scenario.name}-${Date.now()}`)
    mkdirSync(dir, { recursive: true })
    const server = await startServer(scenario, env, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir])
    const problem = scenario.check(await ask(server))
    if (problem !== undefined) throw new Error(`${scenario.name}: invalid answer: ${problem}`)
    const { result, cpu, problem: loadIssue } = await load(server, settings.warmup + settings.duration)
    await stopServer(server)
    if (loadIssue !== undefined) throw new Error(`${scenario.name}: ${loadIssue}`)
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))
    if (files.length === 0) throw new Error(`${scenario.name}: no profile was written to ${dir}`)
    const main = files.map((f) => ({ f, busy: busyMicros(f) })).sort((a, b) => b.busy - a.busy)[0].f
    console.log(`\n## ${scenario.name}: ${fmt(result.requests.total / result.duration)} req/s under the profiler, ${fmt(1e6 * cpu / result.requests.total, 1)} µs CPU/request`)
    console.log(`profile: ${main}`)
    // Requests in the profiled window, assuming an even rate over warm-up and measurement.
    const inWindow = result.requests.total * settings.duration / (settings.warmup + settings.duration)
    console.log(summariseProfile(main, settings.duration, inWindow))
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main (): Promise<void> {
  if (flags.list === true) {
    for (const s of scenarios) console.log(`${s.name.padEnd(20)} ${s.plugin ? 'plugin' : 'plain '}  ${s.request.method} ${s.request.path}  → ${s.status}  ${s.title}`)
    return
  }
  const pluginPresent = existsSync(join(ROOT, 'index.ts'))
  const notes: string[] = []
  let selected = scenarios.filter((s) => (only.length === 0 || only.includes(s.name)) && !skip.has(s.name))
  if (!pluginPresent) {
    const dropped = selected.filter((s) => s.plugin)
    selected = selected.filter((s) => !s.plugin)
    if (dropped.length > 0) notes.push(`index.ts does not exist yet: plugin scenarios skipped (${dropped.map((s) => s.name).join(', ')}).`)
  }
  if (selected.length === 0) throw new Error('no scenario selected')

  if (pinned) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  else notes.push(`not pinned (taskset ${hasTaskset ? 'present' : 'missing'}, ${cores} cores): server and load generator share CPUs.`)
  if (settings.nice > 0) {
    raisePriority(settings.nice)
    notes.push(`run with --nice ${settings.nice}: servers and autocannon had CPU priority over other processes.`)
  }

  // The constant-HTML references replay the plugin's own page, asked for once.
  const env: Record<string, string> = {}
  if (selected.some((s) => s.replaysPage === true)) {
    if (pluginPresent) {
      const pageServer = await startServer(scenarioNamed('plugin-html'), {})
      try {
        env.BENCH_HTML_PAGE = JSON.stringify(await capturePage(pageServer))
      } finally {
        await stopServer(pageServer)
      }
    } else {
      notes.push("the constant-page references send a placeholder page: the plugin's page bytes are not available yet.")
    }
  }

  if (flags.profile !== undefined) {
    await profile(profiled, env)
    return
  }

  const date = new Date()
  const header = [
    `# fastify-flask-errors benchmark — ${date.toISOString()}`,
    '',
    `- machine: ${cpus()[0]?.model ?? 'unknown CPU'}, nproc ${cores}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM; ${pinned ? 'server pinned to CPU 0, autocannon to CPU 1' : 'not pinned'}${settings.nice > 0 ? `; priority raised by nice ${settings.nice}` : ''}`,
    `- node ${process.version}, fastify ${versionOf('fastify')}, @fastify/view ${versionOf('@fastify/view')}, ejs ${versionOf('ejs')}, @fastify/sensible ${versionOf('@fastify/sensible')}, autocannon ${versionOf('autocannon')}`,
    `- plugin commit: ${gitCommit()}; NODE_ENV=production in the servers; logger off`,
    `- ${settings.rounds} rounds × ${settings.duration} s per scenario after a ${settings.warmup} s warm-up; ${settings.connections} connections, pipelining ${settings.pipelining}; medians over the rounds not disturbed by other processes (column "rounds"); ratio = req/s ÷ the reference's req/s`
  ]
  console.log(header.join('\n'))
  const eta = selected.length * (settings.warmup + settings.rounds * (settings.duration + 0.3))
  // Per round: the servers start (about a second), each is warmed alone for a second, then the round.
  const abEta = abRounds === 0 ? 0 : targetGroups(new Set(selected.map((s) => s.name))).reduce((sum, g) => sum + abRounds * (1 + g.scenarios.length + abDuration), 0)
  console.log(`\n${selected.length} scenarios, about ${Math.ceil(eta / 60)} min of load and ${Math.ceil(abEta / 60)} min of same-core A/B, plus at most ${Math.ceil(settings.noiseBudget / 60)} min waiting out other processes\n`)

  const reports = new Map<string, ScenarioReport>()
  const servers = new Map<string, Server>()
  for (const scenario of selected) {
    const { method, path } = scenario.request
    const report: ScenarioReport = { name: scenario.name, title: scenario.title, request: `${method} ${path}`, status: scenario.status, failed: undefined, rounds: [], used: [], noisy: false, median: undefined }
    reports.set(scenario.name, report)
    try {
      const server = await startServer(scenario, env)
      servers.set(scenario.name, server)
      const problem = scenario.check(await ask(server))
      if (problem !== undefined) throw new Error(`invalid answer: ${problem}`)
      console.log(`ok   ${scenario.name}: ${method} ${path} → ${scenario.status} validated`)
    } catch (error) {
      report.failed = error instanceof Error ? error.message : String(error)
      console.error(`FAIL ${scenario.name}: ${report.failed}`)
    }
  }

  const live = (): Server[] => selected.map((s) => servers.get(s.name)).filter((s): s is Server => s !== undefined && reports.get(s.scenario.name)?.failed === undefined)
  const fail = async (server: Server, why: string): Promise<void> => {
    const report = reports.get(server.scenario.name)
    if (report !== undefined) report.failed = why
    console.error(`FAIL ${server.scenario.name}: ${why}`)
    await stopServer(server)
  }

  for (const server of live()) {
    const { problem } = await load(server, settings.warmup)
    if (problem !== undefined) await fail(server, `warm-up: ${problem}`)
  }

  for (let round = 0; round < settings.rounds; round++) {
    for (const server of orderFor(live(), round)) {
      // Other jobs on this machine steal the cores we measure on: a round they disturb is run again
      // (up to --retries times) and the least disturbed attempt kept; what remains is reported.
      await waitForQuiet()
      let attempt = await load(server, settings.duration)
      let attempts = 1
      while (attempt.problem === undefined && attempt.foreignCpu / attempt.result.duration > FOREIGN_LIMIT && attempts <= settings.retries && noiseSpent + settings.duration <= settings.noiseBudget) {
        console.log(`round ${round + 1}/${settings.rounds}  ${server.scenario.name.padEnd(20)} disturbed: other processes used ${fmt(100 * attempt.foreignCpu / attempt.result.duration)} % of a core; measuring again`)
        await waitForQuiet()
        const again = await load(server, settings.duration)
        noiseSpent += settings.duration
        attempts++
        if (again.problem !== undefined || again.foreignCpu < attempt.foreignCpu) attempt = again
      }
      const { result, cpu, loadCpu, foreignCpu, problem } = attempt
      if (problem !== undefined) {
        await fail(server, `round ${round + 1}: ${problem}`)
        continue
      }
      const reqPerSec = result.requests.total / result.duration
      const entry: Round = {
        round: round + 1,
        reqPerSec,
        p50: result.latency.p50,
        p99: result.latency.p99,
        serverCpu: cpu / result.duration,
        loadCpu: loadCpu / result.duration,
        foreignCpu: foreignCpu / result.duration,
        attempts,
        cpuMicrosPerRequest: 1e6 * cpu / result.requests.total,
        requests: result.requests.total
      }
      reports.get(server.scenario.name)?.rounds.push(entry)
      console.log(`round ${round + 1}/${settings.rounds}  ${server.scenario.name.padEnd(20)} ${fmt(reqPerSec).padStart(8)} req/s  p99 ${fmt(entry.p99, 2).padStart(6)} ms  server CPU ${fmt(entry.serverCpu * 100).padStart(3)} %  load CPU ${fmt(entry.loadCpu * 100).padStart(3)} %  other ${fmt(entry.foreignCpu * 100).padStart(3)} %  ${fmt(entry.cpuMicrosPerRequest, 1)} µs/req`)
    }
  }

  // Still right after the load? A scenario that degraded under load must not pass silently.
  for (const server of live()) {
    const problem = server.scenario.check(await ask(server))
    if (problem !== undefined) await fail(server, `after the load: ${problem}`)
  }
  await Promise.all([...servers.values()].map(stopServer))

  const disturbedNotes: string[] = []
  const starvedNotes: string[] = []
  const loadBoundNotes: string[] = []
  for (const report of reports.values()) {
    if (report.failed !== undefined || report.rounds.length === 0) continue
    // Other processes only ever slow a round down: when most rounds were undisturbed, the disturbed
    // ones are left out of the medians (and said so); otherwise all count and the note says so.
    const clean = report.rounds.filter((r) => r.foreignCpu <= FOREIGN_LIMIT)
    report.used = clean.length * 2 >= report.rounds.length ? clean : report.rounds
    const used = report.used
    report.noisy = used !== clean
    report.median = {
      reqPerSec: median(used.map((r) => r.reqPerSec)),
      p99: median(used.map((r) => r.p99)),
      serverCpu: median(used.map((r) => r.serverCpu)),
      loadCpu: median(used.map((r) => r.loadCpu)),
      cpuMicrosPerRequest: median(used.map((r) => r.cpuMicrosPerRequest))
    }
    const disturbed = report.rounds.length - clean.length
    if (disturbed > 0) disturbedNotes.push(`${report.name} ${disturbed}/${report.rounds.length}${used === clean ? '' : ' (all kept: noisy)'}`)
    if (pinned && report.median.serverCpu < 0.9) {
      const entry = `${report.name} ${fmt(report.median.serverCpu * 100)} % (autocannon ${fmt(report.median.loadCpu * 100)} %)`
      if (report.median.loadCpu >= 0.9) loadBoundNotes.push(entry)
      else starvedNotes.push(entry)
    }
  }
  if (disturbedNotes.length > 0) notes.push(`rounds disturbed by other processes (> ${FOREIGN_LIMIT * 100} % of a core) even after a retry, left out of the medians where most rounds were clean: ${disturbedNotes.join(', ')}.`)
  if (starvedNotes.length > 0) notes.push(`servers below 90 % of their core while autocannon was not saturated either — other processes took the CPU, so req/s understates them; compare µs CPU/request: ${starvedNotes.join(', ')}.`)
  if (loadBoundNotes.length > 0) notes.push(`servers below 90 % of their core with autocannon saturated — the load generator is the bottleneck, so their req/s is a lower bound: ${loadBoundNotes.join(', ')}.`)
  if (noiseSpent > 0) notes.push(`spent ${fmt(noiseSpent)} s waiting for other processes to leave the CPUs alone and re-measuring disturbed rounds (budget ${settings.noiseBudget} s).`)
  const measured = new Set([...reports.values()].filter((r) => r.failed === undefined && r.median !== undefined).map((r) => r.name))
  let ab = new Map<string, SameCoreMeasured>()
  if (abRounds > 0 && pinned) ab = await sameCoreRatios(measured, notes)
  else if (abRounds > 0) notes.push('no same-core A/B: it needs the servers on one core and the load generator on another (taskset, 2 cores); rows near their line stay undecided.')
  else notes.push('no same-core A/B (--ab-rounds 0): rows near their line stay undecided.')
  const rows = rowReports(targetReports(reports), ab)
  const table = markdown(reports, rows, header, notes)
  console.log(`\n${table}\n`)

  mkdirSync(RESULTS, { recursive: true })
  const stamp = date.toISOString().replace(/[:.]/g, '-')
  const json = { date: date.toISOString(), machine: { cpu: cpus()[0]?.model, nproc: cores, pinned }, versions: { node: process.version, fastify: versionOf('fastify'), view: versionOf('@fastify/view'), ejs: versionOf('ejs'), sensible: versionOf('@fastify/sensible'), autocannon: versionOf('autocannon') }, commit: gitCommit(), settings, scenarios: [...reports.values()], sameCore: { rounds: abRounds, duration: abDuration }, ratios: rows, notes }
  writeFileSync(join(RESULTS, `bench-${stamp}.json`), JSON.stringify(json, null, 2) + '\n')
  writeFileSync(join(RESULTS, `bench-${stamp}.md`), table + '\n')
  console.log(`results: ${join('bench/results', `bench-${stamp}.json`)} and .md (${readdirSync(RESULTS).length} files in bench/results)`)
  if ([...reports.values()].some((r) => r.failed !== undefined)) process.exitCode = 1
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exitCode = 1
}).finally(() => {
  for (const child of children) child.kill('SIGTERM')
})
