import t from 'tap'
import Fastify from 'fastify'
import nodemailer from 'nodemailer'
import { Writable } from 'node:stream'
import flaskErrors from '../index.js'
import { buildApp, configFromEnv } from '../examples/reporting/app.js'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  mailReporter,
  mailReporterFromEnv,
  smtpSettingsFromEnv,
  FFE_BAD_MAIL_OPTION,
  FFE_BAD_MAIL_ENV,
  type MailReporterOptions
} from '../lib/mail.js'
import { defaultSubject, formatError, formatReportText } from '../lib/mail-text.js'
import type { ErrorReport } from '../lib/report.js'
import type { RequestSummary } from '../lib/report-request.js'
import { startSmtp } from './smtp.js'
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'

function captureLog (): { lines: Array<Record<string, unknown>>, stream: Writable } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    }
  })
  return { lines, stream }
}

const summary: RequestSummary = {
  method: 'GET',
  url: '/orders/42?token=abc',
  route: '/orders/:id',
  requestId: 'req-1',
  ip: '127.0.0.1',
  headers: { host: 'shop.test', cookie: '[masked]', accept: ['text/html', 'application/json'], 'x-empty': undefined }
}

function makeReport (fields: Partial<ErrorReport> = {}): ErrorReport {
  return {
    error: new Error('boom'), status: 500, request: summary, time: new Date('2024-05-01T10:00:00Z'), count: 1, traceId: undefined, context: {}, ...fields
  }
}

t.test('an unhandled error reaches the administrators through a real SMTP server', async (t) => {
  const { port, mails, arrived } = await startSmtp(t)
  const { lines, stream } = captureLog()
  const app = Fastify({ logger: { stream } })
  await app.register(flaskErrors, {
    report: mailReporter({
      smtp: { host: '127.0.0.1', port, secure: false },
      from: '"Shop" <errors@shop.test>',
      to: ['admin@shop.test', 'ops@shop.test'],
      subject: '[shop]'
    })
  })
  app.get('/orders/:id', async () => {
    throw new Error('Ошибка — café ✓', { cause: new TypeError('connection refused') })
  })
  app.get('/known-missing', async (request, reply) => reply.abort(404))

  const response = await app.inject({
    url: '/orders/42?token=abc',
    headers: { cookie: 'session=s3cr3t', authorization: 'Bearer s3cr3t', 'user-agent': 'tap-test' }
  })
  t.equal(response.statusCode, 500)
  t.notMatch(response.body, /Ошибка/, 'the response does not leak the message')
  await arrived(1)

  t.equal(mails.length, 1)
  const [mail] = mails
  t.same(mail.envelope, { from: 'errors@shop.test', to: ['admin@shop.test', 'ops@shop.test'] })
  t.match(mail.headers.from, /"?Shop"? <errors@shop\.test>/)
  t.match(mail.headers.to, /admin@shop\.test, ops@shop\.test/)
  t.equal(mail.subject, '[shop] 500 Internal Server Error: GET /orders/42', 'decoded subject, without the query string')
  t.match(mail.headers['content-type'], /text\/plain; charset=utf-8/i)
  t.notMatch(mail.raw, /Ошибка/, 'the raw message is 7-bit encoded…')
  t.match(mail.text, 'Error: Ошибка — café ✓', '…and the non-ASCII message arrives intact')
  t.match(mail.text, /Error: Ошибка — café ✓\n\s+at .*mail\.test\.ts/, 'with the stack')
  t.match(mail.text, /Caused by: TypeError: connection refused\n\s+at /, 'and the cause chain')
  t.match(mail.text, 'URL:        /orders/42?token=[masked]', 'the token in the query string is masked')
  t.match(mail.text, 'Route:      /orders/:id')
  t.match(mail.text, 'Status:     500 Internal Server Error')
  t.match(mail.text, 'Count:      1')
  t.match(mail.text, '    cookie: session=[masked]', 'cookie names kept, values masked')
  t.match(mail.text, '    authorization: Bearer [masked]', 'the scheme kept')
  t.match(mail.text, '    user-agent: tap-test')
  t.notMatch(mail.text, /s3cr3t/, 'no credential in the mail')
  const requestId = /Request id: (\S+)/.exec(mail.text)?.[1]
  t.ok(lines.some((line) => line.reqId === requestId), 'the mail names the request id of the log lines')

  // A 404, routed or thrown, sends nothing.
  t.equal((await app.inject('/nowhere')).statusCode, 404)
  t.equal((await app.inject('/known-missing')).statusCode, 404)

  // Duplicates: one mail at once, one summary on close.
  await app.inject('/orders/43')
  await app.inject('/orders/44')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(mails.length, 1, 'duplicates and 404s sent nothing yet')
  await app.close()
  await arrived(2)
  t.equal(mails.length, 2)
  t.equal(mails[1].subject, '[shop] 500 Internal Server Error: GET /orders/44 (2 times)')
  t.match(mails[1].text, 'This mail stands for 2 identical errors; the last one is shown, cut to a few KB.')
  t.equal(lines.filter((line) => (line.level as number) >= 50 && /reporter/.test(line.msg as string)).length, 0, 'no reporter failure logged')
})

t.test('a failing handler is mailed as its own failure, then the error it was handling', async (t) => {
  const { port, mails, arrived } = await startSmtp(t)
  const app = Fastify()
  await app.register(flaskErrors, {
    report: mailReporter({ smtp: { host: '127.0.0.1', port, secure: false }, from: 'errors@shop.test', to: 'admin@shop.test' })
  })
  app.errorhandler(404)(() => { throw new TypeError('template variable "user" is missing') })
  app.errorhandler(409)(() => { throw new RangeError('conflict page broke') })
  app.get('/posts/:id', (request, reply) => reply.abort(404, 'No such post'))
  app.get('/save', (request, reply) => reply.abort(409))
  t.equal((await app.inject('/posts/1')).statusCode, 500)
  t.equal((await app.inject('/save')).statusCode, 500)
  await arrived(2)
  t.equal(mails.length, 2, 'two different failures are two reports, not one deduplicated 500')
  const [first, second] = mails
  t.match(first.text, /TypeError: template variable "user" is missing\n\s+at /, 'the failure first, with its stack')
  t.match(first.text, /Raised by an error handler while it was handling:\s+Not Found: No such post/, 'then what it was handling')
  t.match(second.text, /RangeError: conflict page broke/)
  await app.close()
})

t.test('the mail names the trace and shows the report context, one field per line, masked and escaped', async (t) => {
  // The real OpenTelemetry SDK: a span active around the request, as an HTTP instrumentation makes it.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  t.teardown(() => { context.disable() })
  const tracer = new BasicTracerProvider().getTracer('mail-test')
  const { port, mails, arrived } = await startSmtp(t)
  const app = Fastify()
  await app.register(flaskErrors, {
    report: mailReporter({ smtp: { host: '127.0.0.1', port, secure: false }, from: 'errors@shop.test', to: 'admin@shop.test' }),
    reportContext: (request) => ({
      userId: 7,
      tenant: 'acme\n\nHeaders (credentials masked)\n----------------------------\nx-fake: 1',
      password: 'hunter2',
      order: { id: 42, lines: [1, 2] },
      'evil\r\nname': '\u001b[31mred'
    })
  })
  app.get('/orders/:id', () => { throw new Error('db down') })
  const traceId = await tracer.startActiveSpan('GET /orders/:id', async (span) => {
    t.equal((await app.inject('/orders/42')).statusCode, 500)
    span.end()
    return span.spanContext().traceId
  })
  await arrived(1)
  const text = mails[0].text
  t.match(text, `\nTrace id:   ${traceId}\n`, 'the trace id next to the request id')
  t.match(text, /\nRequest id: \S+\nTrace id: {3}[0-9a-f]{32}\n/)
  const section = text.slice(text.indexOf('Context (secrets masked)'), text.indexOf('Headers (credentials masked)\n---'))
  t.same(section.split('\n'), [
    'Context (secrets masked)',
    '------------------------',
    '    userId: 7',
    '    tenant: acme  Headers (credentials masked) ---------------------------- x-fake: 1',
    '    password: [masked]',
    '    order: {"id":42,"lines":[1,2]}',
    '    evil name: \\u001b[31mred',
    '',
    ''
  ], 'one field per line, indented: a value cannot open a section of its own')
  t.equal(text.split('\nHeaders (credentials masked)\n').length, 2, 'one Headers heading: the mail\'s own')
  t.notMatch(text, /hunter2/)

  // Without a span and without a context, neither line nor section.
  const plain = Fastify()
  await plain.register(flaskErrors, {
    report: mailReporter({ smtp: { host: '127.0.0.1', port, secure: false }, from: 'errors@shop.test', to: 'admin@shop.test' })
  })
  plain.get('/crash', () => { throw new Error('crash') })
  await plain.inject('/crash')
  await arrived(2)
  t.notMatch(mails[1].text, /Trace id|Context/)
  await app.close()
  await plain.close()
})

t.test('an SMTP failure is logged and does not change the response', async (t) => {
  const { port, mails } = await startSmtp(t, { authOptional: false, allowInsecureAuth: true, onAuth: (_auth, _session, callback) => callback(new Error('bad login')) })
  const { lines, stream } = captureLog()
  const app = Fastify({ logger: { stream } })
  await app.register(flaskErrors, {
    report: mailReporter({ smtp: { host: '127.0.0.1', port, auth: { user: 'app', pass: 'wrong' } }, from: 'a@b.test', to: 'c@d.test' })
  })
  app.get('/', async () => { throw new Error('unhandled') })
  const response = await app.inject('/')
  t.equal(response.statusCode, 500)
  await app.close()
  t.equal(mails.length, 0)
  const failure = lines.find((line) => /error reporter mail \(#0\) failed/.test(line.msg as string))
  t.match(failure, { level: 50, err: { code: 'EAUTH' }, reportedError: { message: 'unhandled' } })
})

t.test('SMTP login, requireTLS, and a transporter of your own', async (t) => {
  const { port, mails, arrived } = await startSmtp(t, {
    authOptional: false,
    allowInsecureAuth: true,
    onAuth (auth, _session, callback) {
      if (auth.username === 'app' && auth.password === 'pa55') callback(null, { user: auth.username })
      else callback(new Error('Invalid username or password'))
    }
  })
  await mailReporter({ smtp: { host: '127.0.0.1', port, auth: { user: 'app', pass: 'pa55' } }, from: 'a@b.test', to: 'c@d.test' })(makeReport())
  await arrived(1)
  t.same(mails[0].envelope.to, ['c@d.test'], 'logged in and sent')

  // STARTTLS required but not offered: nodemailer refuses to send in clear.
  const tls = mailReporter({ smtp: { host: '127.0.0.1', port, requireTLS: true, auth: { user: 'app', pass: 'pa55' } }, from: 'a@b.test', to: 'c@d.test' })
  await t.rejects(Promise.resolve(tls(makeReport())), /STARTTLS/)

  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, auth: { user: 'app', pass: 'pa55' } })
  const own = mailReporter({ transport, from: 'a@b.test', to: 'e@f.test', subject: (report) => `custom\r\nBcc: evil@x.test ${report.status}` })
  await own(makeReport({ status: 503 }))
  await arrived(2)
  t.equal(mails[1].subject, 'custom Bcc: evil@x.test 503', 'line breaks cannot inject headers')
  t.notOk('bcc' in mails[1].headers)
  t.same(mails[1].envelope.to, ['e@f.test'])
})

t.test('mailReporter validates its options', async (t) => {
  const transport = nodemailer.createTransport({ jsonTransport: true })
  const ok: MailReporterOptions = { transport, from: 'a@b.test', to: 'c@d.test' }
  t.type(mailReporter(ok), 'function')
  t.equal(mailReporter(ok).name, 'mail', 'named for log lines')
  const bad: Array<[unknown, RegExp]> = [
    [undefined, /options must be an object, got undefined/],
    [null, /options must be an object, got null/],
    [{ from: 'a@b.test', to: 'c@d.test' }, /exactly one of `transport` and `smtp`, got neither/],
    [{ ...ok, smtp: { host: 'x' } }, /got both/],
    [{ ...ok, transport: {} }, /transport must be a nodemailer transporter \(with sendMail\), got Object object/],
    [{ ...ok, transport: null }, /transport must be a nodemailer transporter/],
    [{ ...ok, from: '' }, /from must be an address, got ""/],
    [{ ...ok, from: 'nobody' }, /from must be an address, got "nobody"/],
    [{ ...ok, from: 'a@b.test\r\nBcc: x@y' }, /from must be an address/],
    [{ ...ok, to: [] }, /to must be an address or a non-empty list of addresses, got an empty list/],
    [{ ...ok, to: ['a@b.test', 7] }, /got a list containing 7/],
    [{ ...ok, to: 42 }, /got 42/],
    [{ ...ok, subject: 5 }, /subject must be a string prefix or a function \(report\) => string, got 5/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: 'localhost' }, /smtp must be an object \{ host, port, secure, requireTLS, auth \}, got "localhost"/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: null }, /smtp must be an object/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: {} }, /smtp.host must be a host name, got undefined/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', port: 0 } }, /smtp.port must be an integer from 1 to 65535, got 0/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', port: 70000 } }, /got 70000/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', port: '25' } }, /got "25"/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', port: 2.5 } }, /got 2.5/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', secure: 'yes' } }, /smtp.secure must be a boolean, got "yes"/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', requireTLS: 1 } }, /smtp.requireTLS must be a boolean, got 1/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', auth: 'user:pass' } }, /smtp.auth must be an object \{ user: string, pass: string \}, got string \(not shown: it may hold the password\)/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', auth: null } }, /smtp.auth must be an object/],
    [{ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', auth: { user: 'u' } } }, /smtp.auth must be an object/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => mailReporter(options as MailReporterOptions), FFE_BAD_MAIL_OPTION as never)
    t.throws(() => mailReporter(options as MailReporterOptions), { code: 'FFE_BAD_MAIL_OPTION', message })
  }
  t.throws(() => mailReporter({ from: 'a@b.test', to: 'c@d.test', smtp: { host: 'x', auth: 'me:hunter2' } } as never),
    { message: /^(?![\s\S]*hunter2)/ }, 'a login given as a string is not repeated in the message')
  t.type(new FFE_BAD_MAIL_OPTION('a', 'b', 'c'), TypeError)
})

t.test('mailReporterFromEnv: the Flask tutorial variables', async (t) => {
  t.equal(mailReporterFromEnv({}), null, 'off without MAIL_SERVER')
  t.equal(mailReporterFromEnv({ MAIL_SERVER: '  ', ADMINS: 'a@b.test' }), null, 'off with an empty MAIL_SERVER')
  const saved = process.env.MAIL_SERVER
  delete process.env.MAIL_SERVER
  t.teardown(() => { if (saved !== undefined) process.env.MAIL_SERVER = saved })
  t.equal(mailReporterFromEnv(), null, 'reads process.env by default')
  t.equal(smtpSettingsFromEnv(), null)

  t.same(smtpSettingsFromEnv({ MAIL_SERVER: 'smtp.test' }), { host: 'smtp.test', port: 25, secure: false, requireTLS: false }, 'port 25 by default, as in the tutorial')
  t.same(smtpSettingsFromEnv({ MAIL_SERVER: 'smtp.test', MAIL_PORT: '587', MAIL_USE_TLS: '1', MAIL_USERNAME: 'me', MAIL_PASSWORD: 'pw' }),
    { host: 'smtp.test', port: 587, secure: false, requireTLS: true, auth: { user: 'me', pass: 'pw' } }, 'MAIL_USE_TLS: STARTTLS, required')
  t.same(smtpSettingsFromEnv({ MAIL_SERVER: 'smtp.test', MAIL_PORT: ' 465 ', MAIL_USE_TLS: 'True' }),
    { host: 'smtp.test', port: 465, secure: true, requireTLS: false }, 'port 465: implicit TLS')
  t.same(smtpSettingsFromEnv({ MAIL_SERVER: 'smtp.test', MAIL_USE_TLS: 'off' }), { host: 'smtp.test', port: 25, secure: false, requireTLS: false })
  t.same(smtpSettingsFromEnv({ MAIL_SERVER: 'smtp.test', MAIL_USE_TLS: '0' }), { host: 'smtp.test', port: 25, secure: false, requireTLS: false },
    'MAIL_USE_TLS=0 is off, as Flask-Mail\'s False (the Mega-Tutorial would read any value as on)')
  t.same(smtpSettingsFromEnv({ MAIL_SERVER: 'smtp.test', MAIL_PORT: '465', MAIL_USE_SSL: 'true' }),
    { host: 'smtp.test', port: 465, secure: true, requireTLS: false }, 'Flask-Mail\'s MAIL_USE_SSL: TLS from the first byte')
  t.same(smtpSettingsFromEnv({ MAIL_SERVER: 'smtp.test', MAIL_PORT: '2465', MAIL_USE_SSL: '1' }),
    { host: 'smtp.test', port: 2465, secure: true, requireTLS: false }, 'on any port')

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ MAIL_PORT: 'abc' }, /MAIL_PORT must be a port number from 1 to 65535, got "abc"/],
    [{ MAIL_PORT: '0' }, /got "0"/],
    [{ MAIL_PORT: '70000' }, /got "70000"/],
    [{ MAIL_PORT: '25.5' }, /got "25.5"/],
    [{ MAIL_USE_TLS: 'maybe' }, /MAIL_USE_TLS must be one of 1\/true\/yes\/on or 0\/false\/no\/off, got "maybe"/],
    [{ MAIL_USE_SSL: 'sure' }, /MAIL_USE_SSL must be one of 1\/true\/yes\/on or 0\/false\/no\/off, got "sure"/],
    [{ MAIL_USE_TLS: '1', MAIL_USE_SSL: '1' }, /MAIL_USE_TLS and MAIL_USE_SSL must be set one at most \(MAIL_USE_TLS: STARTTLS on a plain connection; MAIL_USE_SSL: TLS from the first byte, usually port 465\), got both/],
    [{ MAIL_DEFAULT_SENDER: 'nobody' }, /from must be an address, got "nobody"/],
    [{ MAIL_USERNAME: 'me' }, /MAIL_PASSWORD must be set together with MAIL_USERNAME/],
    [{ MAIL_PASSWORD: 'pw' }, /MAIL_USERNAME must be set together with MAIL_PASSWORD/],
    [{ ADMINS: ' , ' }, /ADMINS must be a comma-separated list of addresses when MAIL_SERVER is set, got " , "/],
    [{ ADMINS: 'not-an-address' }, /FFE_BAD_MAIL_OPTION|to must be an address/]
  ]
  for (const [vars, message] of bad) {
    t.throws(() => mailReporterFromEnv({ MAIL_SERVER: 'smtp.test', ADMINS: 'a@b.test', ...vars }), { message }, JSON.stringify(vars))
  }
  t.throws(() => mailReporterFromEnv({ MAIL_SERVER: 'smtp.test' }), { code: 'FFE_BAD_MAIL_ENV', message: /ADMINS .* got undefined/ })
  t.type(new FFE_BAD_MAIL_ENV('a', 'b', 'c'), TypeError)
})

t.test('mailReporterFromEnv sends to ADMINS from no-reply@MAIL_SERVER', async (t) => {
  const { port, mails, arrived } = await startSmtp(t)
  const reporter = mailReporterFromEnv({ MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(port), ADMINS: 'one@x.test, two@x.test,' })
  t.ok(reporter)
  await reporter?.(makeReport())
  const withOptions = mailReporterFromEnv({ MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(port), ADMINS: 'one@x.test' }, { from: 'app@x.test', subject: 'Microblog Failure' })
  await withOptions?.(makeReport())
  await arrived(2)
  t.same(mails[0].envelope, { from: 'no-reply@127.0.0.1', to: ['one@x.test', 'two@x.test'] })
  t.equal(mails[0].subject, '[error] 500 Internal Server Error: GET /orders/42')
  t.same(mails[1].envelope, { from: 'app@x.test', to: ['one@x.test'] })
  t.equal(mails[1].subject, 'Microblog Failure 500 Internal Server Error: GET /orders/42')
  const sender = mailReporterFromEnv({ MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(port), ADMINS: 'one@x.test', MAIL_DEFAULT_SENDER: ' Shop <shop@x.test> ' })
  await sender?.(makeReport())
  const both = mailReporterFromEnv({ MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(port), ADMINS: 'one@x.test', MAIL_DEFAULT_SENDER: 'shop@x.test' }, { from: 'app@x.test' })
  await both?.(makeReport())
  await arrived(4)
  t.equal(mails[2].envelope.from, 'shop@x.test', 'MAIL_DEFAULT_SENDER, as Flask-Mail reads it')
  t.equal(mails[3].envelope.from, 'app@x.test', 'the from option wins over MAIL_DEFAULT_SENDER')
})

t.test('subject and body formatting', async (t) => {
  t.equal(defaultSubject(makeReport()), '[error] 500 Internal Server Error: GET /orders/42')
  t.equal(defaultSubject(makeReport({ status: 599, count: 3 }), '[x]'), '[x] 599 Error: GET /orders/42 (3 times)', 'a status without a reason phrase')
  const long = defaultSubject(makeReport({ request: { ...summary, url: '/' + 'a'.repeat(300) } }))
  t.equal(long, `[error] 500 Internal Server Error: GET /${'a'.repeat(119)}…`, 'a long path is cut')
  t.equal(defaultSubject(makeReport(), 'two\nlines'), 'two lines 500 Internal Server Error: GET /orders/42')

  const coded = Object.assign(new Error('with code'), { code: 'E_DB' })
  t.match(formatError(coded), /^Error: with code\n\s+at .*\n {4}code: 'E_DB'$/s)
  const noStack = new RangeError('no stack')
  noStack.stack = undefined
  t.equal(formatError(noStack), 'RangeError: no stack')
  t.equal(formatError('a string'), "string thrown (not an Error): 'a string'")
  t.equal(formatError({ reason: 'object', n: { a: { b: { c: { d: 1 } } } } }), "Object thrown (not an Error): {\n  reason: 'object',\n  n: { a: { b: { c: [Object] } } }\n}", 'inspected, depth 3')
  t.equal(formatError(Object.create(null)), 'Object thrown (not an Error): [Object: null prototype] {}')

  const a = new Error('a')
  a.stack = 'Error: a'
  const b = new Error('b', { cause: a })
  b.stack = 'Error: b'
  a.cause = b
  t.equal(formatError(a), 'Error: a\n\nCaused by: Error: b\n\nCaused by: (the chain loops back to an error shown above)')
  let chain: unknown = 'root'
  for (let i = 20; i > 0; i--) {
    const link = new Error(`level ${i}`, { cause: chain })
    link.stack = `Error: level ${i}`
    chain = link
  }
  const text = formatError(chain)
  t.equal(text.split('Caused by:').length - 1, 9, 'eight causes, then the cut')
  t.match(text, /Caused by: Error: level 9\n\nCaused by: … \(chain cut\)$/)
  t.match(formatError(new Error('x', { cause: 'because' })), /Caused by: string thrown \(not an Error\): 'because'$/)
  const hostileCause = Object.defineProperty(new Error('hostile'), 'cause', { get () { throw new Error('cause getter') } })
  hostileCause.stack = 'Error: hostile'
  t.equal(formatError(hostileCause), 'Error: hostile\n\nCaused by: (unreadable: reading the cause threw)', 'a cause getter that throws ends the chain, said so')
  const hostileStack = Object.defineProperty(new RangeError('m'), 'stack', { get () { throw new Error('stack getter') } })
  t.equal(formatError(hostileStack), 'RangeError: m (some of its fields could not be read)')

  const body = formatReportText(makeReport({ count: 4, request: { ...summary, route: undefined } }))
  t.ok(body.startsWith([
    'GET /orders/42?token=abc answered 500 Internal Server Error.',
    'This mail stands for 4 identical errors; the last one is shown, cut to a few KB.',
    '',
    'Error',
    '-----',
    '    Error: boom',
    '        at '
  ].join('\n')), 'heading, then the error with its stack, indented')
  t.match(body, 'Route:      (no route matched)')
  t.match(body, 'Time:       2024-05-01T10:00:00.000Z')
  t.match(body, 'Count:      4')
  t.match(formatReportText(makeReport({ status: 599 })), /^GET \/orders\/42\?token=abc answered 599 Error\.\n\nError\n/, 'a status without a reason phrase; no count line for one error')
  t.match(body, '    accept: text/html\n    accept: application/json\n', 'repeated headers on their own lines')
  t.notMatch(body, 'x-empty', 'an absent header is left out')
  t.ok(body.endsWith('    cookie: [masked]\n    accept: text/html\n    accept: application/json\n'))
})

t.test('examples/reporting: mail and rotating log file from the environment', async (t) => {
  const { port, mails, arrived } = await startSmtp(t)
  const logDir = t.testdir({})
  const config = configFromEnv({
    MAIL_SERVER: '127.0.0.1',
    MAIL_PORT: String(port),
    ADMINS: 'admin@x.test',
    LOG_DIR: logDir,
    LOG_FILE_SIZE: '1k',
    LOG_FILE_COUNT: '3',
    LOG_STDOUT: '0'
  })
  t.equal(config.mailStatus, 'on, to admin@x.test')
  const app = await buildApp(config)
  t.equal((await app.inject('/')).statusCode, 200)
  t.equal((await app.inject({ url: '/orders/7?voucher=V-SECRET', headers: { 'x-shop-key': 'K-SECRET' } })).statusCode, 500)
  t.equal((await app.inject('/missing')).statusCode, 404)
  t.equal((await app.inject('/nowhere')).statusCode, 404)
  await arrived(1)
  await app.close()
  t.equal(mails.length, 1, 'only the 500 is mailed')
  t.equal(mails[0].subject, '[reporting example] 500 Internal Server Error: GET /orders/7')
  t.same(mails[0].envelope, { from: 'no-reply@127.0.0.1', to: ['admin@x.test'] })
  t.match(mails[0].text, /Error: could not load order 7\n\s+at [^]*Caused by: Error: connect ECONNREFUSED 127\.0\.0\.1:5432/)
  t.match(mails[0].text, 'URL:        /orders/7?voucher=[masked]', 'the example\'s own names are masked')
  t.match(mails[0].text, '    x-shop-key: [masked]')

  const files = readdirSync(logDir).filter((name) => /^app\.\d+\.log$/.test(name))
  t.ok(files.length >= 1, `log files: ${files.join(', ')}`)
  const lines = files.flatMap((name) => readFileSync(join(logDir, name), 'utf8').split('\n').filter((l) => l !== ''))
    .map((line) => JSON.parse(line) as { level: number, reqId?: string, msg: string, err?: { message: string } })
  const errorLine = lines.find((line) => line.level === 50)
  t.match(errorLine, { reqId: /^req-/, err: { message: /could not load order 7/ } }, 'the 500 is in the log file at error level')
  t.equal(/Request id: (\S+)/.exec(mails[0].text)?.[1], errorLine?.reqId, 'mail and log line share the request id')
  t.ok(lines.some((line) => line.msg === 'request completed'), 'request lines too')

  const debug = configFromEnv({ APP_DEBUG: 'true', MAIL_SERVER: '127.0.0.1', ADMINS: 'admin@x.test' })
  t.equal(debug.mail, null, 'no mail in debug mode')
  t.equal(debug.mailStatus, 'off (debug mode)')
  const plain = configFromEnv({})
  t.equal(plain.mail, null)
  t.equal(plain.mailStatus, 'off (MAIL_SERVER not set)')
  t.match(plain, { debug: false, logFileSize: '10m', logFileCount: 10, stdout: true, logFile: /examples[/\\]logs[/\\]app\.log$/ })
  t.throws(() => configFromEnv({ LOG_FILE_COUNT: 'many' }), /LOG_FILE_COUNT must be a positive integer, got "many"/)
})
