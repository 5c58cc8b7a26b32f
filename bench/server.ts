/**
 * One benchmark server: `node bench/.js/server.js <scenario>` (compiled by `npm run build:bench`).
 *
 * Plain JavaScript, not this file through tsx: in a server run through tsx, the plugin's scenarios
 * measured 0.84× on a route the plugin never touches (GET /ok), and 0.98–0.99× once compiled, in the
 * same-core A/B comparison (bench/README.md). tsx stays for the harness, which is not measured.
 *
 * Builds the scenario's app, listens on 127.0.0.1 with an ephemeral port and prints
 * `BENCH_READY <port>` on stdout for bench/run.ts. The constant-HTML reference receives the page
 * it replays through the BENCH_HTML_PAGE environment variable (JSON of { body, headers }), the
 * template scenarios their folder through BENCH_VIEWS.
 * Exits on SIGINT/SIGTERM through process.exit so `--cpu-prof` profiles get written.
 */
import { scenarioNamed, type CapturedPage } from './scenarios.js'

async function main (): Promise<void> {
  const name = process.argv[2]
  if (name === undefined) throw new Error('usage: bench/server.ts <scenario>')
  const scenario = scenarioNamed(name)
  const raw = process.env.BENCH_HTML_PAGE
  const htmlPage = raw === undefined || raw === '' ? undefined : JSON.parse(raw) as CapturedPage
  const views = process.env.BENCH_VIEWS
  if (views === undefined || views === '') throw new Error('BENCH_VIEWS is not set: bench/run.ts names the template folder')
  const app = await scenario.build({ htmlPage, views })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`)
  const stop = (): void => {
    // Exit now: open keep-alive connections must not keep the process (and its profile) waiting.
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stdout.write(`BENCH_READY ${address.port}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server "${process.argv[2] ?? ''}" failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
