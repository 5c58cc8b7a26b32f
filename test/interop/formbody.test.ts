/**
 * With @fastify/formbody registered: a form post whose body Fastify refuses — over formbody's
 * `bodyLimit` (Fastify's `FST_ERR_CTP_BODY_TOO_LARGE`, 413), a Content-Length that does not match the
 * body (`FST_ERR_CTP_INVALID_CONTENT_LENGTH`, 400), a strict `parser` that aborts, fields that fail the
 * route's schema (`FST_ERR_VALIDATION`, 400) — is answered by the plugin, as a page for the browser
 * that posted the form and as JSON for API clients. formbody's default parser (fast-querystring)
 * accepts any string, so "malformed" here is what the app's own parser or schema refuses.
 */
import t from 'tap'
import { request as httpRequest } from 'node:http'
import formbody from '@fastify/formbody'
import { abort } from '../../index.js'
import { build, API, BROWSER } from '../helpers.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

const SIGNUP = {
  body: {
    type: 'object',
    required: ['email'],
    properties: { email: { type: 'string', minLength: 3 }, name: { type: 'string' } }
  }
}

async function server (options: Record<string, unknown> = { bodyLimit: 1024 }) {
  const { app, logs } = await build()
  await app.register(formbody, options)
  app.post('/signup', { schema: SIGNUP }, async (request) => ({ welcome: (request.body as { email: string }).email }))
  return { app, logs }
}

/** A raw HTTP/1.1 exchange, so the response's `Connection` header and the socket's fate can be read. */
async function post (address: string, path: string, body: string, headers: Record<string, string>): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${address}${path}`, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }) })
      res.on('error', reject)
    })
    // The server may answer and close before the whole body is written: that is the point of the test.
    req.on('error', reject)
    req.end(body)
  })
}

t.test('a form body over the limit is a 413, as a page for the browser and as JSON for API clients', async (t) => {
  const { app } = await server()
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const big = `email=ada%40example.com&bio=${'x'.repeat(64 * 1024)}`

  const page = await post(address, '/signup', big, { ...FORM, ...BROWSER })
  t.equal(page.status, 413)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /413/)
  t.match(page.body, /Payload Too Large|Content Too Large/)
  t.equal(page.headers.connection, 'close', "Fastify's Connection: close stays: the unread body must not be taken for the next request")

  const json = await post(address, '/signup', big, { ...FORM, ...API })
  t.equal(json.status, 413)
  const body = JSON.parse(json.body) as Record<string, unknown>
  t.same(body, { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'Request body is too large', requestId: body.requestId })

  const ok = await post(address, '/signup', 'email=ada%40example.com', { ...FORM, ...API })
  t.equal(ok.status, 200, 'a small form is taken')
  t.same(JSON.parse(ok.body), { welcome: 'ada@example.com' })
})

t.test('errorhandler(413) answers a form that is too large', async (t) => {
  const { app } = await server()
  app.errorhandler(413)((error, request, reply) => {
    return reply.errorFormat() === 'html'
      ? ['<h1>That form is too large</h1><p>Shorten your bio.</p>', 413]
      : { error: 'too_large', code: error.code }
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const big = `bio=${'x'.repeat(4096)}`
  const page = await post(address, '/signup', big, { ...FORM, ...BROWSER })
  t.equal(page.status, 413)
  t.equal(page.body, '<h1>That form is too large</h1><p>Shorten your bio.</p>')
  const json = await post(address, '/signup', big, { ...FORM, ...API })
  t.equal(json.status, 413, 'the status is the error\'s when the handler gives none')
  t.same(JSON.parse(json.body), { error: 'too_large', code: 'FST_ERR_CTP_BODY_TOO_LARGE' })
})

t.test('a malformed form is a 400 answered by the plugin', async (t) => {
  const { app } = await server({
    bodyLimit: 1024,
    // A strict parser in formbody's `parser` option: a broken percent-escape is the client's mistake.
    parser: (body: string) => {
      try {
        return Object.fromEntries(body.split('&').filter((pair) => pair !== '').map((pair) => pair.split('=').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')))))
      } catch {
        return abort(400, 'The form body is not valid URL encoding.')
      }
    }
  })
  t.teardown(() => app.close())

  const broken = await app.inject({ method: 'POST', url: '/signup', headers: { ...FORM, ...BROWSER }, payload: 'email=ada%E0%A4%A' })
  t.equal(broken.statusCode, 400)
  t.match(broken.headers['content-type'], /^text\/html/)
  t.match(broken.body, /The form body is not valid URL encoding\./)
  const brokenJson = await app.inject({ method: 'POST', url: '/signup', headers: { ...FORM, ...API }, payload: 'email=%zz' })
  t.equal(brokenJson.statusCode, 400)
  t.equal(brokenJson.json().message, 'The form body is not valid URL encoding.')

  const invalid = await app.inject({ method: 'POST', url: '/signup', headers: { ...FORM, ...API }, payload: 'name=Ada' })
  t.equal(invalid.statusCode, 400, 'a missing field fails the route schema')
  t.equal(invalid.json().code, 'FST_ERR_VALIDATION')
  t.equal(invalid.json().message, "body must have required property 'email'")
  t.equal(invalid.json().validationContext, 'body')
  const invalidPage = await app.inject({ method: 'POST', url: '/signup', headers: { ...FORM, ...BROWSER }, payload: 'email=a' })
  t.equal(invalidPage.statusCode, 400)
  t.match(invalidPage.body, /body\/email must NOT have fewer than 3 characters/)

  const short = await app.inject({ method: 'POST', url: '/signup', headers: { ...FORM, ...API, 'content-length': '40' }, payload: 'email=ada%40example.com' })
  t.equal(short.statusCode, 400, 'a body shorter than its Content-Length')
  t.equal(short.json().code, 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
})
