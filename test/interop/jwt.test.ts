/**
 * With @fastify/jwt registered: `request.jwtVerify()` throws @fastify/jwt's own errors
 * (`FST_JWT_NO_AUTHORIZATION_IN_HEADER`, `FST_JWT_AUTHORIZATION_TOKEN_INVALID`, … — FastifyErrors with
 * status 401, or 400 for a malformed Authorization header). The plugin answers them by that status,
 * with jwt's message shown (a 4xx). jwt puts no `WWW-Authenticate` on them, which RFC 9110 §15.5.2
 * requires on a 401: the README's recipe adds it, and is tested here as written there.
 */
import t from 'tap'
import jwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import { Unauthorized } from '../../index.js'
import { build, API, BROWSER, LEVEL } from '../helpers.js'

async function server (): Promise<{ app: FastifyInstance, logs: Awaited<ReturnType<typeof build>>['logs'], token: string }> {
  const { app, logs } = await build()
  await app.register(jwt, { secret: 'a-test-secret-that-is-long-enough' })
  app.get('/me', { onRequest: async (request) => { await request.jwtVerify() } }, async (request) => ({ user: request.user }))
  // One of our own 401s, carrying a challenge of its own.
  app.get('/admin', () => { throw new Unauthorized('Admins only.', { wwwAuthenticate: 'Basic realm="admin"' }) })
  await app.ready()
  return { app, logs, token: app.jwt.sign({ name: 'ada' }) }
}

t.test('a missing or invalid token is a 401 with jwt\'s message, in our JSON and on our page', async (t) => {
  const { app, logs, token } = await server()
  t.teardown(() => app.close())

  const missing = await app.inject({ url: '/me', headers: API })
  t.equal(missing.statusCode, 401)
  t.same(missing.json(), { statusCode: 401, code: 'FST_JWT_NO_AUTHORIZATION_IN_HEADER', error: 'Unauthorized', message: 'No Authorization was found in request.headers', requestId: missing.json().requestId }, "Fastify's shape with jwt's code and message")

  const invalid = await app.inject({ url: '/me', headers: { ...API, authorization: 'Bearer not.a.token' } })
  t.equal(invalid.statusCode, 401)
  t.equal(invalid.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')
  t.match(invalid.json().message, /^Authorization token is invalid: /)

  const malformed = await app.inject({ url: '/me', headers: { ...API, authorization: 'Bearer two parts' } })
  t.equal(malformed.statusCode, 400, 'a Bearer header that is not "Bearer <token>" is jwt\'s 400')
  t.equal(malformed.json().message, 'Format is Authorization: Bearer [token]')

  const page = await app.inject({ url: '/me', headers: BROWSER })
  t.equal(page.statusCode, 401)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /No Authorization was found in request\.headers/)

  const ok = await app.inject({ url: '/me', headers: { ...API, authorization: `Bearer ${token}` } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().user.name, 'ada')

  t.equal(missing.headers['www-authenticate'], undefined, 'out of the box there is no challenge: jwt sets none (see the recipe)')
  const line = logs.find((l) => l.msg === 'GET /me answered 401')
  t.equal(line?.level, LEVEL.info, 'a 401 is logged at info')
})

t.test('README recipe: WWW-Authenticate: Bearer on every 401, invalid_token for a bad token', async (t) => {
  const { app, token } = await server()
  t.teardown(() => app.close())

  // The recipe, as the README gives it.
  app.errorhandler(401)((error, request, reply) => {
    // RFC 6750 §3.1: a request without a token gets the bare challenge; a bad or expired one says why.
    // An Unauthorized of the app's that carries its own challenge has already put it on the reply.
    if (!reply.hasHeader('www-authenticate')) {
      const invalid = error.code === 'FST_JWT_AUTHORIZATION_TOKEN_INVALID' || error.code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED'
      reply.header('www-authenticate', invalid ? 'Bearer realm="api", error="invalid_token"' : 'Bearer realm="api"')
    }
    return error // Flask's pass-through: the default JSON or page, jwt's message shown
  })

  const missing = await app.inject({ url: '/me', headers: API })
  t.equal(missing.statusCode, 401)
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="api"')
  t.equal(missing.json().message, 'No Authorization was found in request.headers', 'the body is the default one')
  const invalid = await app.inject({ url: '/me', headers: { ...API, authorization: 'Bearer not.a.token' } })
  t.equal(invalid.statusCode, 401)
  t.equal(invalid.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
  const expired = await app.inject({ url: '/me', headers: { ...API, authorization: `Bearer ${app.jwt.sign({ name: 'ada' }, { expiresIn: -10 })}` } })
  t.equal(expired.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED')
  t.equal(expired.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
  const page = await app.inject({ url: '/me', headers: BROWSER })
  t.equal(page.headers['www-authenticate'], 'Bearer realm="api"', 'browsers get the challenge too')
  t.match(page.body, /No Authorization was found/)

  const own = await app.inject({ url: '/admin', headers: API })
  t.equal(own.statusCode, 401)
  t.equal(own.headers['www-authenticate'], 'Basic realm="admin"', 'an Unauthorized that carries its own challenge keeps it')
  t.equal((await app.inject({ url: '/me', headers: { ...API, authorization: `Bearer ${token}` } })).statusCode, 200)
})

t.test('a code key handler answers one jwt error with a tuple carrying the challenge', async (t) => {
  const { app } = await server()
  t.teardown(() => app.close())
  app.errorhandler('FST_JWT_NO_AUTHORIZATION_IN_HEADER')((error) => [
    { error: 'login required', detail: error.message },
    401,
    { 'www-authenticate': 'Bearer realm="api"' }
  ])
  const missing = await app.inject({ url: '/me', headers: API })
  t.equal(missing.statusCode, 401)
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="api"')
  t.same(missing.json(), { error: 'login required', detail: 'No Authorization was found in request.headers' })
  const invalid = await app.inject({ url: '/me', headers: { ...API, authorization: 'Bearer not.a.token' } })
  t.equal(invalid.statusCode, 401, 'another jwt error is not that code: the default response')
  t.equal(invalid.headers['www-authenticate'], undefined)
  t.equal(invalid.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')
})

t.test('a header the handler set before passing the error through wins over the error\'s own, as for any other result', async (t) => {
  const { app } = await server()
  t.teardown(() => app.close())
  // The handler replaces the challenge our Unauthorized carries, then lets the default response render it.
  app.errorhandler(401)((error, request, reply) => {
    reply.header('www-authenticate', 'Bearer realm="api"')
    return error
  })
  const res = await app.inject({ url: '/admin', headers: API })
  t.equal(res.statusCode, 401)
  t.equal(res.json().message, 'Admins only.')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"', 'the handler set the same header: its value goes out')
})
