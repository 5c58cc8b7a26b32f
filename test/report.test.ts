import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { createReporting, type ErrorReport, type ReportOptions, type Reporting } from '../lib/report.js'
import { fingerprint } from '../lib/report-identity.js'
import { summarizeRequest, type RequestSummary } from '../lib/report-request.js'
import { errorClass, errorMessage } from '../lib/describe.js'
import { normalizeOptions } from '../lib/options.js'
import { createRedaction } from '../lib/redact.js'

/** The default policy, as an app without a `redact` option has it. */
const REDACTION = createRedaction()

/** The app options as the plugin hands them to the reporting engine: checked, with their defaults. */
function appOptions (options: ReportOptions): ReturnType<typeof normalizeOptions>['app'] {
  return normalizeOptions(options as Record<string, unknown>, { first: true, log: Fastify().log }).app
}

interface LogLine { level: number, msg: string, reqId?: string, [key: string]: unknown }

/** A pino destination that keeps every line, parsed. */
function captureLog (): { lines: LogLine[], stream: Writable } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      callback()
    }
  })
  return { lines, stream }
}

class PaymentError extends Error {}

/**
 * A plain Fastify app that drives the reporting engine the way the core does:
 * send the error response first, then `schedule(error, status, request, traceId)`;
 * `onClose` → `flush()`.
 */
async function build (options: ReportOptions): Promise<{ app: FastifyInstance, lines: LogLine[], reporting: Reporting }> {
  const { lines, stream } = captureLog()
  const app = Fastify({ logger: { level: 'info', stream } })
  const reporting = createReporting(appOptions(options), app.log, REDACTION)
  if (reporting === null) throw new Error('expected a reporting engine')
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500
    reply.code(status).send({ error: status >= 500 ? 'Internal Server Error' : error.message })
    reporting.schedule(error, status, request, undefined)
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'Not Found' })
    reporting.schedule(new Error(`no route for ${request.url}`), 404, request, undefined)
  })
  app.addHook('onClose', async () => { await reporting.flush() })
  app.get('/boom/:id', async () => { throw new Error('database is down') })
  app.get('/other', async () => { throw new Error('database is down') })
  app.get('/pay', async () => { throw new PaymentError('card declined') })
  app.get('/distinct/:n', async (request) => { throw new Error(`failure ${(request.params as { n: string }).n}`) })
  app.get('/teapot', async () => { throw Object.assign(new Error('short and stout'), { statusCode: 418 }) })
  app.get('/missing', async () => { throw Object.assign(new Error('no such thing'), { statusCode: 404 }) })
  app.get('/unavailable', async () => { throw Object.assign(new Error('maintenance'), { statusCode: 503 }) })
  await app.ready()
  return { app, lines, reporting }
}

/** A reporter that records what it receives. */
function recorder (): { reports: ErrorReport[], reporter: (report: ErrorReport) => void } {
  const reports: ErrorReport[] = []
  return { reports, reporter: (report) => { reports.push(report) } }
}

t.test('no reporter, no engine: the core does nothing at all', async (t) => {
  const { lines, stream } = captureLog()
  const log = Fastify({ logger: { stream } }).log
  t.equal(createReporting(appOptions({}), log, REDACTION), null, 'no reporter: nothing to do')
  t.equal(createReporting(appOptions({ report: [] }), log, REDACTION), null, 'empty list: nothing to do')
  t.equal(createReporting(appOptions({ report: undefined, reportWhen: [500] }), log, REDACTION), null)
  t.equal(createReporting(appOptions({ report: null }), log, REDACTION), null, 'a reporter switched off (mailReporterFromEnv() without MAIL_SERVER)')
  t.equal(createReporting(appOptions({ report: [null, undefined] }), log, REDACTION), null)
  t.not(createReporting(appOptions({ report: [null, () => {}] }), log, REDACTION), null, 'null entries are skipped')
  t.equal(lines.length, 0, 'nothing logged')
})

t.test('fingerprint: class, message and throw site', async (t) => {
  function throwHere (): Error { return new Error('same') }
  function throwThere (): Error { return new Error('same') }
  t.equal(fingerprint(throwHere()), fingerprint(throwHere()), 'same class, message and frame')
  t.not(fingerprint(throwHere()), fingerprint(throwThere()), 'another throw site')
  t.not(fingerprint(new Error('same')), fingerprint(new TypeError('same')), 'another class')
  t.not(fingerprint(new Error('a')), fingerprint(new Error('b')), 'another message')
  const noStack = new Error('x')
  noStack.stack = undefined
  t.equal(fingerprint(noStack), 'Error\u0000x\u0000')
  const bareStack = new Error('y')
  bareStack.stack = 'Error: y'
  t.equal(fingerprint(bareStack), 'Error\u0000y\u0000')
  t.equal(fingerprint('oops'), 'string\u0000oops\u0000')
})

t.test('summarizeRequest masks credentials and names the route', async (t) => {
  const app = Fastify()
  let summary: RequestSummary | undefined
  let notFound: RequestSummary | undefined
  app.get('/users/:id', async (request) => { summary = summarizeRequest(request, REDACTION); return 'ok' })
  app.setNotFoundHandler(async (request, reply) => { notFound = summarizeRequest(request, REDACTION); return reply.code(404).send('nope') })
  await app.inject({
    url: '/users/7?token=secret',
    headers: {
      cookie: 'session=secret',
      authorization: 'Bearer secret',
      'proxy-authorization': 'Basic secret',
      'set-cookie': 'x=secret',
      'x-trace': 'abc',
      accept: 'text/html'
    }
  })
  t.ok(summary)
  t.match(summary, {
    method: 'GET',
    url: '/users/7?token=[masked]',
    route: '/users/:id',
    requestId: /^req-/,
    ip: '127.0.0.1',
    headers: {
      cookie: 'session=[masked]',
      authorization: 'Bearer [masked]',
      'proxy-authorization': 'Basic [masked]',
      'set-cookie': 'x=[masked]',
      'x-trace': 'abc',
      accept: 'text/html'
    }
  })
  t.notMatch(JSON.stringify(summary), /secret/, 'no credential survives')
  t.ok(Object.isFrozen(summary) && Object.isFrozen(summary?.headers))
  await app.inject({ method: 'POST', url: '/nowhere' })
  t.match(notFound, { method: 'POST', url: '/nowhere', route: undefined })
})

t.test('default: 5xx reported once with the request summary, 4xx not', async (t) => {
  const { reports, reporter } = recorder()
  const { app, lines } = await build({ report: reporter })
  let statusSeenWhenReporting = 0
  const second = (report: ErrorReport): void => { statusSeenWhenReporting = report.status }

  const { reports: others, reporter: other } = recorder()
  const { app: app2 } = await build({ report: [other, second] })

  const response = await app.inject({ url: '/boom/1?q=2', headers: { cookie: 'sid=1', 'user-agent': 'tap' } })
  t.equal(response.statusCode, 500)
  t.same(response.json(), { error: 'Internal Server Error' })
  await app.inject('/missing')
  await app.inject('/teapot')
  await app.inject('/not-a-route')
  await app.close()

  t.equal(reports.length, 1, 'only the 500')
  const [report] = reports
  t.type(report.error, Error)
  t.equal((report.error as Error).message, 'database is down')
  t.equal(report.status, 500)
  t.equal(report.count, 1)
  t.type(report.time, Date)
  t.match(report.request, { method: 'GET', url: '/boom/1?q=2', route: '/boom/:id', ip: '127.0.0.1', headers: { cookie: '[masked]', 'user-agent': 'tap' } })
  const requestLine = lines.find((line) => line.msg === 'incoming request' && (line.req as { url: string }).url === '/boom/1?q=2')
  t.equal(report.request.requestId, requestLine?.reqId, 'the request id of the log lines')
  t.ok(Object.isFrozen(report), 'reporters share a frozen report')
  t.equal(lines.filter((line) => line.level >= 40).length, 0, 'nothing logged by reporting')

  await app2.inject('/unavailable')
  await app2.close()
  t.equal(others.length, 1, 'every reporter of a list runs')
  t.equal(statusSeenWhenReporting, 503)
})

t.test('reporters run after the response, not inside schedule()', async (t) => {
  const { lines, stream } = captureLog()
  const app = Fastify({ logger: { stream } })
  const calls: string[] = []
  const reporting = createReporting(appOptions({ report: () => { calls.push('reporter') } }), app.log, REDACTION)
  app.setErrorHandler((error, request, reply) => {
    reply.code(500).send('fail')
    reporting?.schedule(error, 500, request, undefined)
    calls.push(`after schedule (reporter calls so far: ${calls.length})`)
  })
  app.get('/', async () => { throw new Error('x') })
  const response = await app.inject('/')
  calls.push('response received')
  t.equal(response.statusCode, 500)
  await reporting?.flush()
  t.same(calls, ['after schedule (reporter calls so far: 0)', 'response received', 'reporter'])
  t.equal(lines.filter((line) => line.level >= 50).length, 0)
})

t.test('reportWhen: a list of statuses', async (t) => {
  const { reports, reporter } = recorder()
  const { app } = await build({ report: reporter, reportWhen: [404, 503] })
  await app.inject('/boom/1')
  await app.inject('/missing')
  await app.inject('/unavailable')
  await app.inject('/teapot')
  await app.inject('/no-route')
  await app.close()
  t.same(reports.map((r) => [r.status, errorMessage(r.error)]), [
    [404, 'no such thing'],
    [503, 'maintenance'],
    [404, 'no route for /no-route']
  ])
  t.equal(reports[2].request.route, undefined, 'routing 404: no route pattern')
})

t.test('reportWhen: a predicate', async (t) => {
  const { reports, reporter } = recorder()
  const seen: Array<[number, string]> = []
  const { app } = await build({
    report: reporter,
    reportWhen: (status, error) => {
      seen.push([status, errorClass(error)])
      return error instanceof PaymentError || status === 418
    }
  })
  await app.inject('/boom/1')
  await app.inject('/pay')
  await app.inject('/teapot')
  await app.close()
  t.same(seen, [[500, 'Error'], [500, 'PaymentError'], [418, 'Error']], 'called with status and the original error')
  t.same(reports.map((r) => errorMessage(r.error)), ['card declined', 'short and stout'])
})

t.test('reportWhen that throws falls back to status >= 500 and is logged', async (t) => {
  const { reports, reporter } = recorder()
  const { app, lines } = await build({ report: reporter, reportWhen: () => { throw new Error('predicate bug') } })
  await app.inject('/boom/1')
  await app.inject('/missing')
  await app.close()
  t.same(reports.map((r) => r.status), [500])
  const errors = lines.filter((line) => line.msg.startsWith('reportWhen threw'))
  t.equal(errors.length, 2)
  t.match(errors[0], { level: 50, reqId: /^req-/, err: { message: 'predicate bug' }, msg: /default rule \(status >= 500\) for this 500 error/ })
})

t.test('duplicates inside the window are collapsed into one summary with a count', async (t) => {
  const { reports, reporter } = recorder()
  const { app } = await build({ report: reporter })
  const responses = await Promise.all([1, 2, 3, 4, 5].map((n) => app.inject(`/boom/${n}`)))
  t.same(responses.map((r) => r.statusCode), [500, 500, 500, 500, 500], 'every response is sent')
  await app.inject('/other') // same class and message, another throw site
  await app.inject('/distinct/a')
  await app.inject('/distinct/b')
  await sleep(20)
  t.same(reports.map((r) => [r.request.url, r.count]), [
    ['/boom/1', 1], ['/other', 1], ['/distinct/a', 1], ['/distinct/b', 1]
  ], 'first occurrences at once, duplicates held')
  await app.close()
  t.equal(reports.length, 5, 'close() flushes the summary')
  t.match(reports[4], { count: 4, status: 500, request: { url: '/boom/5' } }, 'the summary stands for the 4 duplicates and shows the last one')
})

t.test('windows roll on a timer; an error that keeps happening gets one summary per window', async (t) => {
  const { reports, reporter } = recorder()
  const windowMs = 300
  const { app, reporting } = await build({ report: reporter, reportDedupeWindow: windowMs })
  await Promise.all([1, 2, 3].map((n) => app.inject(`/boom/${n}`)))
  await sleep(20)
  t.same(reports.map((r) => r.count), [1])
  await sleep(windowMs + 100)
  t.same(reports.map((r) => r.count), [1, 2], 'summary at the end of the window, without waiting for close()')

  await app.inject('/boom/4')
  await sleep(20)
  t.equal(reports.length, 2, 'still happening: counted, not reported at once')
  await sleep(windowMs + 100)
  t.same(reports.map((r) => r.count), [1, 2, 1])
  t.equal(reports[2].request.url, '/boom/4')

  // A window with no occurrence forgets the error; the next one is new.
  await sleep(windowMs + 100)
  await app.inject('/boom/5')
  await sleep(20)
  t.same(reports.map((r) => r.count), [1, 2, 1, 1])

  // flush() ends the window: what was held is sent, and the next error is new again.
  await app.inject('/boom/6')
  await reporting.flush()
  t.same(reports.map((r) => r.count), [1, 2, 1, 1, 1])
  await app.inject('/boom/7')
  await sleep(20)
  t.same(reports.map((r) => [r.request.url, r.count]).slice(-1), [['/boom/7', 1]])
  await app.close()
})

t.test('rate limit: at most reportRateLimit reports per window, shared between throw sites, the rest counted and logged', async (t) => {
  const { reports, reporter } = recorder()
  // 3 reports per window: one site may take 1 (a tenth, at least 1) and the last 1 is kept for new sites.
  const { app, lines } = await build({ report: reporter, reportRateLimit: 3 })
  await app.inject('/distinct/1')
  await app.inject('/distinct/2') // same throw site, another message: over the site's share
  await app.inject('/pay') // a new site
  await app.inject('/boom/1') // a new site: the reserved report
  await app.inject('/other') // a new site, but the window's budget is spent
  await app.inject('/distinct/2') // a repeat of a dropped error is dropped too
  await app.inject('/distinct/1') // a repeat of a reported one is counted for the summary
  await sleep(20)
  t.same(reports.map((r) => r.request.url), ['/distinct/1', '/pay', '/boom/1'])
  await app.close()
  t.same(reports.map((r) => [r.request.url, r.count]).slice(3), [['/distinct/1', 1]], 'the summary still goes out')
  const warnings = lines.filter((line) => line.level === 40)
  t.equal(warnings.length, 1)
  t.match(warnings[0], {
    dropped: 3,
    reportRateLimit: 3,
    perSite: 1,
    reserved: 1,
    reportDedupeWindow: 60000,
    msg: '3 error report(s) dropped: over the budget of 3 reports per 60000 ms (at most 1 distinct errors from one throw site; 1 kept for errors from new throw sites)'
  })
  t.notOk('reqId' in warnings[0], 'a window-level line goes to the root logger')
})

t.test('a budget of 1: no reserve, the one report goes to the first error', async (t) => {
  const { reports, reporter } = recorder()
  const { app, lines } = await build({ report: reporter, reportRateLimit: 1 })
  await app.inject('/pay')
  await app.inject('/boom/1')
  await app.inject('/pay')
  await app.close()
  t.same(reports.map((r) => [r.request.url, r.count]), [['/pay', 1], ['/pay', 1]], 'the first error and its summary at close')
  t.match(lines.find((line) => line.level === 40), { dropped: 1, perSite: 1, reserved: 0 })
})

t.test('summaries leave the reserved part of the next window free for a new error', async (t) => {
  const { reports, reporter } = recorder()
  const windowMs = 300
  // 4 reports per window, the last 1 kept for errors from new throw sites.
  const { app, lines } = await build({ report: reporter, reportRateLimit: 4, reportDedupeWindow: windowMs, reportWhen: () => true })
  const repeated = ['/boom/1', '/other', '/pay', '/unavailable']
  for (const url of repeated) await app.inject(url)
  for (const url of repeated) await app.inject(url) // four summaries wait for the window's end
  await sleep(windowMs + 100)
  t.same(reports.slice(4).map((r) => [r.request.url, r.count]), [['/boom/1', 1], ['/other', 1], ['/pay', 1]], 'three summaries fit; the fourth is dropped')
  await app.inject('/teapot') // a new error in the new window
  await sleep(20)
  t.same(reports.slice(7).map((r) => r.request.url), ['/teapot'], 'the new error is reported at once')
  t.match(lines.find((line) => line.level === 40), { dropped: 1, reserved: 1 })
  await app.close()
})

t.test('a reporter that throws or rejects is logged; the others still run; the response is unchanged', async (t) => {
  const { reports, reporter } = recorder()
  function brokenSync (): void { throw new Error('smtp refused') }
  const { app, lines } = await build({
    report: [brokenSync, async () => { throw new TypeError('service down') }, reporter]
  })
  const response = await app.inject('/pay')
  t.equal(response.statusCode, 500)
  t.same(response.json(), { error: 'Internal Server Error' })
  await app.close()
  t.equal(reports.length, 1, 'the healthy reporter ran')
  const failures = lines.filter((line) => /^error reporter/.test(line.msg))
  t.equal(failures.length, 2)
  const requestId = reports[0].request.requestId
  t.match(failures.find((line) => line.reporter === 'brokenSync (#0)'), {
    level: 50,
    reqId: requestId,
    err: { type: 'Error', message: 'smtp refused', stack: /brokenSync/ },
    reportedError: { type: 'PaymentError', message: 'card declined', stack: /card declined\n\s+at / },
    cutOff: false,
    msg: 'error reporter brokenSync (#0) failed while reporting GET /pay'
  })
  t.match(failures.find((line) => line.reporter === '#1'), { err: { type: 'TypeError', message: 'service down' } })
})

t.test('a hanging reporter is cut off after reportTimeout and never delays the response', async (t) => {
  const { reports, reporter } = recorder()
  // Generous: the response must beat it by a wide margin even on a loaded CI machine.
  const timeout = 1000
  let reporterStarted = 0
  let slowFinished = 0
  const hang = (): Promise<void> => { reporterStarted = Date.now(); return new Promise(() => {}) }
  const slow = async (): Promise<void> => { await sleep(150); slowFinished = Date.now() }
  const { app, lines } = await build({ report: [hang, slow, reporter], reportTimeout: timeout })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }

  const start = Date.now()
  const response = await fetch(`http://127.0.0.1:${port}/boom/1`)
  const body = await response.text()
  const responseAt = Date.now()
  t.equal(response.status, 500)
  t.equal(body, '{"error":"Internal Server Error"}')
  t.ok(responseAt - start < timeout, `response after ${responseAt - start} ms, well before the ${timeout} ms cut-off`)

  const closeStart = Date.now()
  await app.close()
  const closeTook = Date.now() - closeStart
  t.ok(slowFinished > responseAt, 'the slow reporter finished after the response had arrived')
  t.equal(reports.length, 1, 'the healthy reporter ran')
  t.ok(reporterStarted > 0)
  t.ok(closeTook < timeout + 250, `close() waited ${closeTook} ms: bounded by the timeout`)
  t.ok(Date.now() - reporterStarted >= timeout - 5, 'waited for the timeout before cutting off')
  const cut = lines.filter((line) => /was cut off/.test(line.msg))
  t.equal(cut.length, 1)
  t.match(cut[0], {
    level: 50,
    reqId: reports[0].request.requestId,
    reporter: 'hang (#0)',
    reportTimeout: timeout,
    reportedError: { message: 'database is down' },
    msg: `error reporter hang (#0) did not finish within ${timeout} ms and was cut off (reporting GET /boom/1)`
  })
})

t.test('a reporter that fails after being cut off is logged again', async (t) => {
  let rejectLate: (error: Error) => void = () => {}
  let lateRejected: () => void = () => {}
  const rejected = new Promise<void>((resolve) => { lateRejected = resolve })
  const late = (): Promise<void> => new Promise((_resolve, reject) => { rejectLate = (error) => { reject(error); lateRejected() } })
  const { app, lines } = await build({ report: late, reportTimeout: 50 })
  await app.inject('/boom/1')
  await app.close()
  t.equal(lines.filter((line) => /was cut off/.test(line.msg)).length, 1)
  rejectLate(new Error('connection reset'))
  await rejected
  await sleep(10)
  const after = lines.filter((line) => /after being cut off/.test(line.msg))
  t.equal(after.length, 1)
  t.match(after[0], { cutOff: true, err: { message: 'connection reset' }, msg: 'error reporter late (#0) failed while reporting GET /boom/1 (after being cut off)' })
})

t.test('flush() waits for pending reports, including ones not started yet', async (t) => {
  const done: string[] = []
  const { app } = await build({
    report: async (report) => { await sleep(100); done.push(report.request.url) }
  })
  await app.inject('/boom/1')
  await app.inject('/pay')
  t.same(done, [], 'nothing finished yet')
  await app.close()
  t.same(done.sort(), ['/boom/1', '/pay'], 'close() returned after both reports')
})

t.test('a summary of repeats is no one request\'s: a reporter finds no request\'s async context in it', async (t) => {
  // What Sentry's scopes and an app's own request store rely on: the first report runs in the context
  // of the request that failed, the summary the window sends later in none.
  const { AsyncLocalStorage } = await import('node:async_hooks')
  const { default: flaskErrors } = await import('../index.js')
  const store = new AsyncLocalStorage<{ user: string }>()
  const seen: Array<[number, string | undefined]> = []
  const app = Fastify()
  await app.register(flaskErrors, {
    reportDedupeWindow: 100,
    report: (report) => { seen.push([report.count, store.getStore()?.user]) }
  })
  app.addHook('onRequest', async (request) => { store.enterWith({ user: String((request.query as { u?: string }).u) }) })
  app.get('/boom', async () => { throw new Error('database is down') })
  t.teardown(() => app.close())
  await app.inject('/boom?u=alice')
  await app.inject('/boom?u=bob')
  await sleep(250)
  t.same(seen, [[1, 'alice'], [1, undefined]], 'the first report sees alice; the summary sees no user, not alice\'s')
})
