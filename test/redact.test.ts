/**
 * The redaction policy as a user meets it: what the debug JSON shows of the request (the same policy
 * masks reports, mails and log lines; test/security/redaction.test.ts checks those end to end), and
 * the `redact` option's validation at registration.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import flaskErrors, { FFE_INVALID_OPTION } from '../index.js'
import type { FlaskErrorsOptions } from '../index.js'
import { build, API } from './helpers.js'

interface DebugRequest { method: string, url: string, headers: Record<string, string> }

/** What the debug JSON of a crashing request shows of it. */
async function shown (t: Test, request: { url?: string, headers?: Record<string, string | string[]> }, options: FlaskErrorsOptions = {}): Promise<DebugRequest> {
  const { app } = await build({ debug: true, ...options })
  t.teardown(() => app.close())
  app.get('/crash', () => { throw new Error('crash') })
  const response = await app.inject({ url: request.url ?? '/crash', headers: { ...API, ...request.headers } })
  t.equal(response.statusCode, 500)
  return (response.json() as { debug: { request: DebugRequest } }).debug.request
}

t.test('cookies keep their names, credentials their scheme, secret-looking headers nothing', async (t) => {
  const { headers } = await shown(t, {
    headers: {
      cookie: 'a=1; b=2;c=3; flag',
      authorization: 'Bearer abc.def',
      'proxy-authorization': 'Basic dXNlcjpwYXNz',
      'x-api-key': 'k1',
      'x-apikey': 'k2',
      'x-auth-token': 'k3',
      'x-session-id': 'k4',
      'x-client-secret': 'k5',
      'x-password': 'k6',
      'x-csrf-token': 'k7',
      'x-hub-signature': 'k8',
      'x-forwarded-authorization': 'k9',
      'x-jwt-assertion': 'k10',
      'private-token': 'k11',
      'user-agent': 'curl/8',
      'x-author': 'Ada'
    }
  })
  t.equal(headers.cookie, 'a=[masked]; b=[masked]; c=[masked]; [masked]', 'a cookie without a value is masked whole')
  t.equal(headers.authorization, 'Bearer [masked]')
  t.equal(headers['proxy-authorization'], 'Basic [masked]')
  for (const name of ['x-api-key', 'x-apikey', 'x-auth-token', 'x-session-id', 'x-client-secret', 'x-password', 'x-csrf-token', 'x-hub-signature', 'x-forwarded-authorization', 'x-jwt-assertion', 'private-token']) {
    t.equal(headers[name], '[masked]', name)
  }
  t.equal(headers['user-agent'], 'curl/8', 'other headers as sent')
  t.equal(headers['x-author'], 'Ada', '"auth" inside "author" is no secret')
})

t.test('an authorization value without a recognisable scheme is masked whole', async (t) => {
  t.equal((await shown(t, { headers: { authorization: 'opaque-token' } })).headers.authorization, '[masked]', 'no scheme')
  t.equal((await shown(t, { headers: { authorization: `${'x'.repeat(40)} rest` } })).headers.authorization, '[masked]', 'a "scheme" too long to be one')
  t.equal((await shown(t, { headers: { authorization: 'tok/en rest' } })).headers.authorization, '[masked]', 'a "scheme" that is no token')
})

t.test('query values of secret-looking names are masked, names and other values kept', async (t) => {
  const { url } = await shown(t, {
    url: '/crash?token=t1&page=2&access_token=t2&client_secret=t3&password=t4&api_key=t5&X-Amz-Signature=t6&key=t7&sig=t8&code=t9&sessionid=t10&author=ada&q=a+b&flag&empty='
  })
  t.equal(url, '/crash?token=[masked]&page=2&access_token=[masked]&client_secret=[masked]&password=[masked]&api_key=[masked]&X-Amz-Signature=[masked]&key=[masked]&sig=[masked]&code=[masked]&sessionid=[masked]&author=ada&q=a+b&flag&empty=')
  t.equal((await shown(t, { url: '/crash?%74oken=t1&pass%77ord=t2' })).url, '/crash?%74oken=[masked]&pass%77ord=[masked]', 'names are matched URL-decoded')
  t.equal((await shown(t, { url: '/crash?%zztoken=t1' })).url, '/crash?%zztoken=[masked]', 'a malformed name is matched as sent')
  t.equal((await shown(t, { url: '/crash?TOKEN=t1' })).url, '/crash?TOKEN=[masked]', 'without regard to case')
})

t.test('names added with the redact option are masked on top of the defaults', async (t) => {
  const options: FlaskErrorsOptions = { redact: { headers: ['X-Tenant-Key', /^x-acme-/g], query: ['otp', /^sso_/] } }
  const first = await shown(t, {
    url: '/crash?otp=123456&OTP=654321&sso_ticket=abc&token=t&page=1',
    headers: { 'x-tenant-key': 'tk', 'x-acme-one': 'a1', 'X-ACME-Two': 'a2', authorization: 'Bearer b', 'x-other': 'shown' }
  }, options)
  t.equal(first.url, '/crash?otp=[masked]&OTP=[masked]&sso_ticket=[masked]&token=[masked]&page=1')
  t.match(first.headers, { 'x-tenant-key': '[masked]', 'x-acme-one': '[masked]', 'x-acme-two': '[masked]', authorization: 'Bearer [masked]', 'x-other': 'shown' })
  // A RegExp with the g flag would match every other time if it kept its lastIndex.
  const second = await shown(t, { headers: { 'x-acme-one': 'a1', 'x-acme-three': 'a3' } }, options)
  t.match(second.headers, { 'x-acme-one': '[masked]', 'x-acme-three': '[masked]' })
  t.equal((await shown(t, { headers: { authorization: 'Bearer b' } }, { redact: {} })).headers.authorization, 'Bearer [masked]', 'the defaults cannot be switched off')
})

t.test('the caller\'s lists are copied at registration', async (t) => {
  const headers: Array<string | RegExp> = ['x-one']
  const { app } = await build({ debug: true, redact: { headers } })
  t.teardown(() => app.close())
  headers.length = 0
  app.get('/crash', () => { throw new Error('crash') })
  const response = await app.inject({ url: '/crash', headers: { ...API, 'x-one': 'secret' } })
  t.equal((response.json() as { debug: { request: DebugRequest } }).debug.request.headers['x-one'], '[masked]')
})

t.test('a bad redact option fails at registration with a message that says the fix', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    ['x-api-key', /redact must be an object \{ headers\?: \[\.\.\.\], query\?: \[\.\.\.\] \} of names to mask, got "x-api-key"/],
    [null, /redact must be an object .* got null/],
    [['x-api-key'], /redact must be an object .* got \["x-api-key"\]/],
    [/token/, /redact must be an object/],
    [{ header: ['x'] }, /redact takes headers and query, got unknown key "header"/],
    [{ headers: 'x-api-key' }, /redact.headers must be a list of names or RegExps, e.g. \['x-internal-key', \/\^x-acme-\/\], got "x-api-key"/],
    [{ query: 'otp' }, /redact.query must be a list of names or RegExps, e.g. \['otp', \/\^sso_\/\], got "otp"/],
    [{ headers: [42] }, /redact.headers must list non-empty strings or RegExps, .* got 42/],
    [{ query: [''] }, /redact.query must list non-empty strings or RegExps, .* got an empty string/],
    [{ headers: ['x api'] }, /redact.headers: "x api" is not a header name .*; use a RegExp to match part of a name/]
  ]
  for (const [redact, message] of bad) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(flaskErrors, { redact } as never) }, { code: 'FFE_INVALID_OPTION', message }, JSON.stringify(String(redact)))
  }
  t.ok(new FFE_INVALID_OPTION('x') instanceof TypeError)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors, { redact: { headers: undefined, query: ['otp'] } })
  app.register(async (child) => { await child.register(flaskErrors, { redact: { query: ['x'] } }) })
  await t.rejects(async () => { await app.ready() }, { code: 'FFE_INVALID_OPTION', message: /redact can only be set where the plugin is first registered/ }, 'app-wide: one policy per app')
})
