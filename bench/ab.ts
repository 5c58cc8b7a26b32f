/**
 * `npm run bench:ab -- <reference> <scenario> [<scenario>…]`: a same-core A/B comparison.
 *
 * Every named scenario's server runs on CPU 0 at the same time, each loaded by its own autocannon
 * (10 connections) from CPU 1. With all of them busy, the scheduler gives each an equal share of
 * the core, so each one's req/s is inversely proportional to its CPU cost per request, and whatever
 * else the machine does in that second slows all of them alike. On this VM, where the alternating
 * rounds of `npm run bench` swing ±10 % with the neighbours, the medians here repeat within ±2–3 %
 * (a scenario against a second copy of itself: medians 0.99–1.01×). It is the tool for finding what costs
 * what; the issue's table stays the alternating bench (bench/run.ts), which measures each server
 * alone on its core.
 *
 * Flags: --rounds 8 --duration 3 (seconds per round) --connections 10
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { capturedPage, scenarioNamed, type Scenario } from './scenarios.js'

interface AutocannonResult { requests: { total: number }, errors: number, timeouts: number, statusCodeStats: Record<string, { count: number }> }
const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = fileURLToPath(new URL('./.js/server.js', import.meta.url))
const VIEWS = fileURLToPath(new URL('./views', import.meta.url))

const { values: flags, positionals } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' }
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
if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run bench:ab\`, which compiles the servers first`)
const scenarios = positionals.map(scenarioNamed)

const children: ChildProcess[] = []
process.on('exit', () => { for (const child of children) child.kill('SIGTERM') })

/** Starts one scenario's server on CPU 0; resolves with its URL once it prints its port. */
function start (scenario: Scenario, env: Record<string, string>): Promise<string> {
  const child = spawn('taskset', ['-c', '0', process.execPath, SERVER, scenario.name], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production', BENCH_VIEWS: VIEWS, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  let out = ''
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const port = /BENCH_READY (\d+)/.exec(out)?.[1]
      if (port !== undefined) resolve(`http://127.0.0.1:${port}`)
    })
    child.once('exit', (code) => { reject(new Error(`${scenario.name}: server exited (${String(code)}) before it was ready`)) })
  })
}

/** Loads one server for `seconds`; its req/s, or an error when any answer was not the expected one. */
async function load (scenario: Scenario, url: string, seconds: number): Promise<number> {
  const { method, path, headers } = scenario.request
  const result = await autocannon({ url: url + path, method, headers, connections, duration: seconds })
  const wrong = Object.entries(result.statusCodeStats).reduce((sum, [code, stat]) => Number(code) === scenario.status ? sum : sum + stat.count, 0)
  if (result.requests.total === 0 || result.errors > 0 || result.timeouts > 0 || wrong > 0) {
    throw new Error(`${scenario.name}: ${result.requests.total} answers, ${result.errors} connection errors, ${result.timeouts} timeouts, ${wrong} with another status than ${scenario.status}`)
  }
  return result.requests.total / seconds
}

function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * The constant-HTML reference (c) replays the plugin's own page, as in bench/run.ts: asked for once
 * from a plugin-html server. Without it, the reference would send a placeholder of other bytes.
 */
async function pageEnv (): Promise<Record<string, string>> {
  if (!scenarios.some((s) => s.name === 'ref-410-html')) return {}
  const url = await start(scenarioNamed('plugin-html'), {})
  const { method, path, headers } = scenarioNamed('plugin-html').request
  const response = await fetch(url + path, { method, headers })
  const page = capturedPage({ status: response.status, headers: response.headers, body: await response.text() })
  for (const child of children.splice(0)) child.kill('SIGTERM')
  return { BENCH_HTML_PAGE: JSON.stringify(page) }
}

async function main (): Promise<void> {
  // The load generator on the other core, as bench/run.ts does (servers: CPU 0).
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  const env = await pageEnv()
  const urls = await Promise.all(scenarios.map(async (s) => await start(s, env)))
  await Promise.all(scenarios.map(async (s, i) => await load(s, urls[i], 2)))
  const ratios: number[][] = scenarios.map(() => [])
  for (let round = 0; round < rounds; round++) {
    const rates = await Promise.all(scenarios.map(async (s, i) => await load(s, urls[i], duration)))
    for (let i = 1; i < scenarios.length; i++) ratios[i].push(rates[i] / rates[0])
    console.log(`round ${round + 1}/${rounds}  ${rates.map((r, i) => `${scenarios[i].name} ${Math.round(r)}`).join('  ')} req/s`)
  }
  console.log(`\nsame-core A/B, ${rounds} rounds × ${duration} s, ${connections} connections each; ratio = req/s ÷ ${scenarios[0].name}'s in the same second:`)
  for (let i = 1; i < scenarios.length; i++) {
    const list = ratios[i]
    console.log(`  ${scenarios[i].name.padEnd(18)} ${median(list).toFixed(3)}×  (rounds ${Math.min(...list).toFixed(2)}–${Math.max(...list).toFixed(2)})`)
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
}).finally(() => {
  for (const child of children) child.kill('SIGTERM')
})
