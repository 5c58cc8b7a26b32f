/**
 * Tried as an attacker would: a request full of credentials (a cookie, a bearer token, an API key, a
 * name the app added to the policy, secrets in the query string) fails in every way the plugin
 * handles, and none of the secrets comes out — not in a response, a report, a mail (through a real
 * SMTP server) or a log line. Plus: log lines stay bounded for a 10 KB URL, and error text in a mail
 * cannot pass for a section of the mail or break its subject.
 */
import t from 'tap'
import type { Test } from 'tap'
import { mailReporter } from '../../lib/mail.js'
import type { ErrorReport } from '../../index.js'
import { abort } from '../../index.js'
import { build, API, BROWSER, within } from '../helpers.js'
import type { LogLine } from '../helpers.js'
import { startSmtp } from '../smtp.js'

const SECRETS = ['COOKIE-SECRET-1', 'AUTH-SECRET-2', 'APIKEY-SECRET-3', 'CUSTOM-SECRET-4', 'TOKEN-SECRET-5', 'PASS-SECRET-6', 'OTP-SECRET-7', 'PROXY-SECRET-8']
const HEADERS = {
  cookie: 'sid=COOKIE-SECRET-1; theme=dark',
  authorization: 'Bearer AUTH-SECRET-2',
  'proxy-authorization': 'Basic PROXY-SECRET-8',
  'x-api-key': 'APIKEY-SECRET-3',
  'x-tenant-key': 'CUSTOM-SECRET-4'
}
const QUERY = '?token=TOKEN-SECRET-5&password=PASS-SECRET-6&otp=OTP-SECRET-7&page=1'
/** Names the application adds through the option. */
const REDACT = { headers: ['x-tenant-key'], query: ['otp'] }

/** Every secret found in `text`. */
function leaked (text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret))
}

/**
 * The log lines the plugin writes, whole. Fastify's own `incoming request` line carries `req.url` as
 * the client sent it: that line is Fastify's serializer, not the plugin's (README: set `serializers.req`).
 */
function pluginLines (logs: LogLine[]): LogLine[] {
  return logs.filter((line) => line.msg !== 'incoming request')
}

async function hostileApp (t: Test, debug: boolean): Promise<{ app: Awaited<ReturnType<typeof build>>['app'], logs: LogLine[], reports: ErrorReport[], mails: Awaited<ReturnType<typeof startSmtp>> }> {
  const mails = await startSmtp(t)
  const reports: ErrorReport[] = []
  const { app, logs } = await build({
    debug,
    redact: REDACT,
    reportWhen: () => true,
    report: [
      (report) => { reports.push(report) },
      mailReporter({ smtp: { host: '127.0.0.1', port: mails.port }, from: 'app@x.test', to: 'admin@x.test', subject: (report) => `[app] ${report.request.method} ${report.request.url}` })
    ]
  })
  t.teardown(() => app.close())
  app.get('/crash', () => { throw new Error('database is down') })
  app.get('/bad', () => abort(400, 'bad input'))
  app.get('/handled', () => { throw new RangeError('handled badly') })
  app.errorhandler(RangeError)(() => { throw new Error('the handler failed too') })
  return { app, logs, reports, mails }
}

for (const debug of [false, true]) {
  t.test(`with debug ${debug ? 'on' : 'off'}, no secret leaves in a response, a report, a mail or a log line`, async (t) => {
    const { app, logs, reports, mails } = await hostileApp(t, debug)
    const urls = ['/crash', '/bad', '/handled', '/nowhere']
    const bodies: string[] = []
    for (const url of urls) {
      for (const accept of [API, BROWSER]) {
        const response = await app.inject({ url: url + QUERY, headers: { ...HEADERS, ...accept } })
        t.ok(response.statusCode >= 400, `${url} answers an error`)
        bodies.push(response.body, JSON.stringify(response.headers))
      }
    }
    await app.close()
    await within(mails.arrived(reports.length))
    t.ok(reports.length >= 4, `${reports.length} reports`)
    t.ok(mails.mails.length >= 4, `${mails.mails.length} mails`)

    t.same(leaked(bodies.join('\n')), [], 'responses')
    t.same(leaked(JSON.stringify(reports.map((r) => r.request))), [], 'reports')
    t.same(leaked(mails.mails.map((m) => m.raw + m.subject + m.text).join('\n')), [], 'mails, raw and decoded')
    t.same(leaked(JSON.stringify(pluginLines(logs))), [], 'log lines')

    // Masked, not dropped: what helps debugging is still there.
    t.match(reports[0].request, { url: '/crash?token=[masked]&password=[masked]&otp=[masked]&page=1', headers: { cookie: 'sid=[masked]; theme=[masked]', authorization: 'Bearer [masked]', 'x-api-key': '[masked]', 'x-tenant-key': '[masked]' } })
    const crashMail = mails.mails.find((mail) => mail.subject.startsWith('[app] GET /crash'))
    t.equal(crashMail?.subject, '[app] GET /crash?token=[masked]&password=[masked]&otp=[masked]&page=1')
    t.match(crashMail?.text, '    cookie: sid=[masked]; theme=[masked]')
    const lines = pluginLines(logs).map((line) => line.msg)
    t.ok(lines.includes('GET /crash?token=[masked]&password=[masked]&otp=[masked]&page=1 answered 500'), 'the 500 line')
    t.ok(lines.includes('GET /nowhere?token=[masked]&password=[masked]&otp=[masked]&page=1 answered 404'), 'the routing 404 line')
    // Debug mode skips handlers for 500s, so only then does the RangeError handler run (and fail).
    if (!debug) t.ok(lines.some((msg) => msg.startsWith('GET /handled?token=[masked]') && msg.includes('error handler')), 'the handler failure line')
    if (debug) {
      t.ok(bodies.some((body) => body.includes('sid=[masked]; theme=[masked]')), 'the debug page shows cookie names')
      t.ok(bodies.some((body) => body.includes('/crash?token=[masked]&amp;password=[masked]')), 'and the masked URL')
    }
  })
}

t.test('a header sent twice is masked in each of its values', async (t) => {
  const reports: ErrorReport[] = []
  const { app } = await build({ report: (report) => { reports.push(report) } })
  t.teardown(() => app.close())
  app.get('/crash', () => { throw new Error('x') })
  // Node keeps a repeated set-cookie as a list (any other header is joined into one string).
  await app.inject({ url: '/crash', headers: { 'set-cookie': ['a=COOKIE-SECRET-1', 'b=COOKIE-SECRET-1'] } })
  await app.close()
  t.same(reports[0].request.headers['set-cookie'], ['a=[masked]', 'b=[masked]'])
})

t.test('a 10 KB URL makes log lines of about 2 KB, with a marker', async (t) => {
  const { app, logs } = await build({})
  t.teardown(() => app.close())
  app.get('/crash', () => { throw new Error('x') })
  const long = '/crash?q=' + 'a'.repeat(10_000) + '&token=TOKEN-SECRET-5'
  await app.inject(long)
  await app.inject('/' + 'b'.repeat(10_000))
  const lines = pluginLines(logs).filter((line) => /answered/.test(line.msg))
  t.equal(lines.length, 2)
  for (const line of lines) {
    t.ok(line.msg.length < 2200, `${line.msg.length} characters`)
    t.match(line.msg, /…\[\d+ more characters\] answered (500|404)$/)
  }
  const masked = long.replace('TOKEN-SECRET-5', '[masked]')
  t.equal(lines[0].msg, `GET ${masked.slice(0, 2048)}…[${masked.length - 2048} more characters] answered 500`, 'masked first, then cut, saying how much')
  t.same(leaked(JSON.stringify(pluginLines(logs))), [])
})

t.test('error text in a mail cannot fake a section, and the subject stays one bounded line', async (t) => {
  const mails = await startSmtp(t)
  const { app } = await build({
    report: mailReporter({ smtp: { host: '127.0.0.1', port: mails.port }, from: 'app@x.test', to: 'admin@x.test' })
  })
  t.teardown(() => app.close())
  const fake = 'lookup failed\n\nRequest\n-------\nURL:        /fake?token=none\r\nHeaders (credentials masked)\u2028----------------------------\u0085x-fake: yes\u001b[2J'
  app.get('/crash', () => { throw new Error(fake) })
  app.get('/s', () => { throw new TypeError('x'.repeat(500) + '\nSubject: injected') })
  app.get('/huge', () => { throw new Error('h'.repeat(200_000)) })
  const custom = mailReporter({ smtp: { host: '127.0.0.1', port: mails.port }, from: 'app@x.test', to: 'admin@x.test', subject: (report) => String((report.error as Error).message) })
  await app.inject('/crash')
  await within(mails.arrived(1))
  const text = mails.mails[0].text
  const margin = text.split('\n').filter((line) => !line.startsWith(' ') && line !== '')
  t.same(margin.filter((line) => line === 'Request'), ['Request'], 'one Request heading: the mail\'s own')
  t.same(margin.filter((line) => line.startsWith('Headers')), ['Headers (credentials masked)'])
  t.notOk(margin.some((line) => line.startsWith('URL:        /fake') || line.startsWith('x-fake')), 'the fake lines are indented')
  t.match(text, '    URL:        /fake?token=none', 'shown, indented, as part of the error')
  t.match(text, '    x-fake: yes\\u001b[2J', 'a terminal escape is shown, not sent')
  t.notOk(text.includes('\u001b'))

  // A first occurrence carries the real error; the mail shows 64 KB of it and says how much is left.
  await app.inject('/huge')
  await within(mails.arrived(2))
  const huge = mails.mails[1].text
  t.ok(huge.length < 70_000, `a mail of ${huge.length} characters for a 200 KB message`)
  t.match(huge, /\n {4}… \(\d+ more characters cut\)\n/)
  mails.mails.splice(1, 1)

  await app.inject('/s')
  const response = await app.inject('/s')
  t.equal(response.statusCode, 500)
  const report = { error: new TypeError('y'.repeat(1000) + '\r\nBcc: evil@x.test'), status: 500, time: new Date(), count: 1, traceId: undefined, context: {}, request: { method: 'GET', url: '/s', route: '/s', requestId: 'r', ip: '127.0.0.1', headers: {} } }
  await custom(report)
  await within(mails.arrived(3))
  const subject = mails.mails[1].subject
  t.ok(subject.length <= 200, `the subject has ${subject.length} characters`)
  t.notMatch(subject, /[\r\n]/)
  t.match(subject, /…$/, 'cut with an ellipsis')
  t.notOk('bcc' in mails.mails[1].headers)
})
