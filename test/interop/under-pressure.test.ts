/**
 * With @fastify/under-pressure registered and the service under pressure, every request is shed with
 * a 503 the plugin answers. The pressure state is forced deterministically: a `healthCheck` that
 * resolves `false` is run once while the plugin registers (under-pressure awaits it before its
 * onRequest hook goes live), and a long `healthCheckInterval` keeps it from being re-run during the test.
 */
import t from 'tap'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import { ServiceUnavailable } from '../../index.js'
import type { ErrorReport, FlaskErrorsOptions } from '../../index.js'
import { build, API, BROWSER, LEVEL, within } from '../helpers.js'

/** Lets reporters (started after the response, on a later turn) run. */
async function settle (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20))
}

/** What under-pressure is given: unhealthy from the start, checked again only long after the test. */
const UNHEALTHY = { healthCheck: async () => false, healthCheckInterval: 60_000 }

async function pressured (pressure: Record<string, unknown>, options: FlaskErrorsOptions = {}): Promise<{ app: FastifyInstance, logs: Awaited<ReturnType<typeof build>>['logs'], reports: ErrorReport[] }> {
  const reports: ErrorReport[] = []
  const { app, logs } = await build({ report: (report) => { reports.push(report) }, ...options })
  await app.register(underPressure, { ...UNHEALTHY, ...pressure })
  app.get('/work', async () => ({ done: true }))
  return { app, logs, reports }
}

t.test('under pressure: a 503 with Retry-After kept, our JSON for API clients and our page for browsers', async (t) => {
  const { app, logs, reports } = await pressured({ retryAfter: 30 })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())

  const json = await within(fetch(`${address}/work`, { headers: API }))
  t.equal(json.status, 503)
  t.equal(json.headers.get('retry-after'), '30', "under-pressure's Retry-After stays on the reply")
  t.match(json.headers.get('content-type'), /^application\/json/)
  const body = await within(json.json()) as Record<string, unknown>
  t.same(body, { statusCode: 503, code: 'FST_UNDER_PRESSURE', error: 'Service Unavailable', message: 'The service is unavailable right now; try again later.', requestId: body.requestId }, 'the generic 503 text: a 5xx message is not shown')

  const page = await within(fetch(`${address}/work`, { headers: BROWSER }))
  t.equal(page.status, 503)
  t.equal(page.headers.get('retry-after'), '30')
  t.match(page.headers.get('content-type'), /^text\/html/)
  const html = await within(page.text())
  t.match(html, /503/)
  t.match(html, /Service Unavailable/)

  const unknown = await within(fetch(`${address}/no-such-page`, { headers: API }))
  t.equal(unknown.status, 503, 'an unknown URL is shed too (under-pressure runs before routing answers 404)')
  t.equal(unknown.headers.get('retry-after'), '30')
  await within(unknown.text())

  const lines = logs.filter((line) => line.msg === 'GET /work answered 503')
  t.equal(lines.length, 2)
  t.ok(lines.every((line) => line.level === LEVEL.error), 'a 5xx is logged at error')
  await settle()
  t.same(reports.map((report) => [report.status, (report.error as { code?: string }).code]), [[503, 'FST_UNDER_PRESSURE']], 'the default reportWhen reports it (once: the same error again is deduplicated)')
})

t.test('errorhandler(503) receives under-pressure\'s error', async (t) => {
  const { app } = await pressured({})
  t.teardown(() => app.close())
  app.errorhandler(503)((error) => ({ busy: true, code: error.code }))
  const res = await app.inject({ url: '/work', headers: API })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '10', "under-pressure's default Retry-After")
  t.same(res.json(), { busy: true, code: 'FST_UNDER_PRESSURE' })
})

t.test('with customError: a status-less error class still answers 503, handled by errorhandler(503)', async (t) => {
  // under-pressure README's own CustomError: a plain Error with a message and no status.
  class CustomError extends Error {
    constructor () {
      super('Custom error message')
    }
  }
  const { app, reports } = await pressured({ customError: CustomError })
  t.teardown(() => app.close())
  const plain = await app.inject({ url: '/work', headers: API })
  t.equal(plain.statusCode, 503, 'the 503 under-pressure put on the reply, not a 500')
  t.equal(plain.headers['retry-after'], '10')
  t.equal(plain.json().message, 'The service is unavailable right now; try again later.', 'its message is hidden, as every 5xx message')

  const seen: unknown[] = []
  app.errorhandler(503)((error) => { seen.push(error); return ['<h1>Busy</h1>', { 'cache-control': 'no-store' }] })
  const handled = await app.inject({ url: '/work', headers: BROWSER })
  t.equal(handled.statusCode, 503)
  t.equal(handled.body, '<h1>Busy</h1>')
  t.equal(handled.headers['retry-after'], '10', 'Retry-After stays next to the handler\'s own headers')
  t.equal(handled.headers['cache-control'], 'no-store')
  t.ok(seen[0] instanceof CustomError, 'the handler receives the customError instance')
  await settle()
  t.same(reports.map((report) => [report.status, report.error instanceof CustomError]), [[503, true]], 'reported as the 503 it answered, once')
})

t.test("README recipe: under-pressure's message through customError", async (t) => {
  // The recipe as the README gives it (there the pressure is maxEventLoopDelay; here the unhealthy
  // check): our ServiceUnavailable with the app's own text, shown because the application wrote it.
  class Busy extends ServiceUnavailable {
    constructor () { super('We are very busy right now; please try again in a minute.') }
  }
  const { app } = await pressured({ customError: Busy, retryAfter: 60 })
  t.teardown(() => app.close())

  const json = await app.inject({ url: '/work', headers: API })
  t.equal(json.statusCode, 503)
  t.equal(json.headers['retry-after'], '60')
  t.same(json.json(), { statusCode: 503, error: 'Service Unavailable', message: 'We are very busy right now; please try again in a minute.', requestId: json.json().requestId })
  const page = await app.inject({ url: '/work', headers: BROWSER })
  t.equal(page.statusCode, 503)
  t.match(page.body, /We are very busy right now; please try again in a minute\./, 'the page shows it too')
})

t.test('README recipe: load shedding is not reported, other 5xx still are', async (t) => {
  const reports: ErrorReport[] = []
  const { app, logs } = await build({
    report: (report) => { reports.push(report) },
    reportWhen: (status, error) => status >= 500 && (error as { code?: unknown }).code !== 'FST_UNDER_PRESSURE'
  })
  t.teardown(() => app.close())
  // under-pressure in a context of its own (Fastify's encapsulation): the routes outside are not shed.
  await app.register(async (busy) => {
    await busy.register(underPressure, UNHEALTHY)
    busy.get('/work', async () => ({ done: true }))
  })
  app.get('/crash', async () => { throw new Error('database down') })
  t.equal((await app.inject({ url: '/work', headers: API })).statusCode, 503)
  t.equal((await app.inject({ url: '/crash', headers: API })).statusCode, 500)
  await settle()
  t.same(reports.map((report) => report.status), [500], 'only the crash is reported, not the shed request')
  t.equal(logs.filter((line) => line.msg === 'GET /work answered 503').length, 1, 'the shed request is still logged')
})
