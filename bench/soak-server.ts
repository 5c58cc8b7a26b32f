/**
 * The soak test's server: `node --expose-gc bench/.js/soak-server.js` (bench/soak.ts starts
 * it). An app shaped like examples/app.ts — success routes, aborts, routing 404/405, a blog prefix
 * that owns its 404s, an API error class, validation and body errors, handlers that fail (sync and
 * async), a hostile error, a reporter — plus three endpoints for the driver:
 *
 * - `GET /__soak/stats`: memory and the event-loop delay histogram since the last reset;
 * - `POST /__soak/reset`: resets the histogram (after warm-up);
 * - `POST /__soak/gc`: waits for the app to be quiet (longer than a report window), forces two full
 *   collections, then answers the memory (the event-loop
 *   histogram is paused meanwhile: the driver's collections are not the app's delay).
 *
 * Listens on 127.0.0.1 with an ephemeral port and prints `SOAK_READY <port>`. Logs go to /dev/null
 * through pino, as a production app would log them (the cost is part of the measurement).
 */
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import flaskErrors, { abort } from 'fastify-flask-errors'

/** The reporter's dedupe window: repeats are held until it rolls. */
const REPORT_WINDOW_MS = 1000
/** How long the app is left alone before memory is read: longer than a report window. */
const QUIET_MS = 1500

/** An API error class, as in Flask's docs ("Returning API Errors as JSON"). */
class InvalidAPIUsage extends Error {
  readonly statusCode = 400
  constructor (message: string, readonly payload: Record<string, unknown> = {}) { super(message) }
  toDict (): Record<string, unknown> { return { ...this.payload, message: this.message } }
}

/** Event-loop sampling interval (ms). */
const RESOLUTION_MS = 10

/** What /__soak/stats and /__soak/gc answer. */
export interface SoakStats {
  heapUsed: number
  heapTotal: number
  rss: number
  external: number
  /** Event-loop delay in ms beyond the sampling interval: percentiles, max, mean, and how many samples. */
  eventLoop: { p50: number, p99: number, max: number, mean: number, count: number }
  reports: number
}

/** Builds the soak app; `reports` counts what the reporter received. */
export async function buildSoakApp (): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: 'info', stream: pino.destination({ dest: '/dev/null', sync: false }) } })
  let reports = 0
  // A short dedupe window, so the summaries of repeated errors are sent (and counted) during the run.
  await app.register(flaskErrors, { report: () => { reports++ }, reportDedupeWindow: REPORT_WINDOW_MS })

  app.errorhandler(InvalidAPIUsage)((error) => [(error as InvalidAPIUsage).toDict(), 400])
  app.errorhandler(409)(() => { throw new Error('the 409 handler is broken') })
  app.errorhandler(418)(async () => {
    await new Promise((resolve) => setImmediate(resolve))
    throw new Error('the 418 handler rejects')
  })
  app.errorhandler(503)(async (error, request, reply) => {
    await new Promise((resolve) => setImmediate(resolve))
    reply.header('retry-after', '5')
    return { busy: true }
  })
  app.errorhandler(500)(() => ['<h1>Oops, our fault</h1>', 500])

  app.get('/ok', async () => ({ ok: true }))
  app.post('/echo', async (request) => request.body)
  app.get('/gone', async () => abort(410, 'This page is gone for good.'))
  app.get('/crash', async () => { throw new Error('database password leaked into a message') })
  app.get('/api/users/:id', async (request) => {
    const { id } = request.params as { id: string }
    throw new InvalidAPIUsage('user id must be a positive integer', { id })
  })
  app.get('/failing-handler', async () => abort(409))
  app.get('/async-failing', async () => abort(418))
  app.get('/busy', async () => abort(503))
  app.get('/validated', { schema: { querystring: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } }, async () => 'ok')
  app.get('/hostile', async () => {
    // Frozen (pino cannot tag it for its serializer) and carrying a header with CR/LF (dropped).
    throw Object.freeze(Object.assign(new Error('conflict'), { statusCode: 409.5, status: 429, headers: { 'retry-after': 1, 'x-bad': 'a\r\nb' } }))
  })
  await app.register(async (blog) => {
    blog.errorhandler(404)(() => ['<h1>No such post</h1>', 404])
    blog.get('/post', async () => 'a post')
  }, { prefix: '/blog' })

  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  delay.enable()
  const stats = (): SoakStats => {
    const memory = process.memoryUsage()
    // The histogram holds the time between two samples, the sampling interval included: the delay
    // is what exceeds it.
    const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100)
    return {
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      rss: memory.rss,
      external: memory.external,
      eventLoop: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean), count: delay.count },
      reports
    }
  }
  app.get('/__soak/stats', async () => stats())
  app.post('/__soak/reset', async () => { delay.reset(); return stats() })
  app.post('/__soak/gc', async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc === undefined) throw new Error('run the soak server with --expose-gc')
    delay.disable()
    // Measured once the app is quiet: the load has stopped, but the last window of reports still holds
    // its repeats (sent when it rolls) and closed connections are still being torn down. Taken at once,
    // the heap carried that work in flight, a few MB that come and go from one segment to the next.
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS))
    gc()
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    delay.enable()
    return stats()
  })
  return app
}

async function main (): Promise<void> {
  const app = await buildSoakApp()
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`)
  const stop = (): void => { process.exit(0) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stdout.write(`SOAK_READY ${address.port}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`soak server failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
