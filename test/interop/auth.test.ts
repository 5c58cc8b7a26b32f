/**
 * With @fastify/auth registered: a route behind `fastify.auth([...])` whose verifier fails is a 401
 * answered by the plugin. @fastify/auth sets `reply.code(401)` and hands Fastify the verifier's own
 * error — usually a plain `Error` with no status — so the reply's status is what says "401" here.
 */
import t from 'tap'
import auth from '@fastify/auth'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Forbidden, abort } from '../../index.js'
import type { ErrorReport } from '../../index.js'
import { build, API, BROWSER, LEVEL } from '../helpers.js'

/** Lets reporters (started after the response, on a later turn) run. */
async function settle (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20))
}

/** A verifier in @fastify/auth's async style: it throws a plain Error when the token is not the one expected. */
function tokenIs (expected: string, failure: string) {
  return async (request: FastifyRequest): Promise<void> => {
    if (request.headers['x-token'] !== expected) throw new Error(failure)
  }
}

/** A verifier in @fastify/auth's callback style. */
function callbackVerifier (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  if (request.headers['x-user'] === 'ada') done()
  else done(new Error('Unknown user'))
}

async function app (options: Parameters<typeof build>[0] = {}) {
  const reports: ErrorReport[] = []
  const built = await build({ report: (report) => { reports.push(report) }, ...options })
  await built.app.register(auth)
  const { app } = built
  app.after(() => {
    app.get('/private', { preHandler: app.auth([tokenIs('secret', 'Missing or wrong token')]) }, async () => ({ ok: true }))
    app.get('/callback', { preHandler: app.auth([callbackVerifier]) }, async () => ({ ok: true }))
    app.get('/both', { preHandler: app.auth([callbackVerifier, tokenIs('secret', 'Token required too')], { relation: 'and' }) }, async () => ({ ok: true }))
    app.get('/either', { preHandler: app.auth([callbackVerifier, tokenIs('secret', 'No token either')]) }, async () => ({ ok: true }))
  })
  return { ...built, reports }
}

t.test('a verifier that fails answers 401, as JSON for API clients and as a page for browsers', async (t) => {
  const { app: server, logs, reports } = await app()
  t.teardown(() => server.close())

  const json = await server.inject({ url: '/private', headers: API })
  t.equal(json.statusCode, 401, "@fastify/auth's 401, not a 500 for the status-less Error")
  t.match(json.headers['content-type'], /^application\/json/)
  t.same(json.json(), { statusCode: 401, error: 'Unauthorized', message: 'Missing or wrong token', requestId: json.json().requestId }, "Fastify's shape, the verifier's message shown (a 4xx)")

  const page = await server.inject({ url: '/private', headers: BROWSER })
  t.equal(page.statusCode, 401)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /401/)
  t.match(page.body, /Unauthorized/)
  t.match(page.body, /Missing or wrong token/, 'the page shows the message too')

  const callback = await server.inject({ url: '/callback', headers: API })
  t.equal(callback.statusCode, 401, 'a callback-style verifier too')
  t.equal(callback.json().message, 'Unknown user')

  const ok = await server.inject({ url: '/private', headers: { ...API, 'x-token': 'secret' } })
  t.equal(ok.statusCode, 200, 'the right token still gets through')
  t.same(ok.json(), { ok: true })

  const lines = logs.filter((line) => line.msg === 'GET /private answered 401')
  t.equal(lines.length, 2, 'one line per failed request')
  t.ok(lines.every((line) => line.level === LEVEL.info), 'logged at info, as the 4xx it is, not at error')
  t.equal(logs.filter((line) => line.level >= LEVEL.error).length, 0, 'nothing at error')
  await settle()
  t.same(reports, [], 'not reported: the default reportWhen is status >= 500')
})

t.test('errorhandler(401) receives the verifier\'s own error', async (t) => {
  const { app: server } = await app()
  t.teardown(() => server.close())
  let onError = 0
  server.addHook('onError', async () => { onError++ })
  const seen: unknown[] = []
  server.errorhandler(401)((error, request) => {
    seen.push(error)
    return { login: '/login', reason: (error as Error).message, path: request.url }
  })

  const res = await server.inject({ url: '/private', headers: API })
  t.equal(res.statusCode, 401, 'the handler sets no status: the 401 stays')
  t.same(res.json(), { login: '/login', reason: 'Missing or wrong token', path: '/private' })
  t.equal(seen.length, 1, 'called once')
  t.ok(seen[0] instanceof Error)
  t.equal((seen[0] as Error).message, 'Missing or wrong token', 'the very Error the verifier threw')
  t.equal((seen[0] as { statusCode?: unknown }).statusCode, undefined, 'it is not rewritten')
  t.equal(onError, 1, "the app's onError hook ran once for the request")
})

t.test("relation: 'and' — the first verifier that fails answers 401; all passing get through", async (t) => {
  const { app: server } = await app()
  t.teardown(() => server.close())
  server.errorhandler(401)((error) => ({ reason: (error as Error).message }))

  const first = await server.inject({ url: '/both', headers: { ...API, 'x-token': 'secret' } })
  t.equal(first.statusCode, 401)
  t.same(first.json(), { reason: 'Unknown user' }, 'the first verifier failed')
  const second = await server.inject({ url: '/both', headers: { ...API, 'x-user': 'ada' } })
  t.equal(second.statusCode, 401)
  t.same(second.json(), { reason: 'Token required too' }, 'the second verifier failed')
  const both = await server.inject({ url: '/both', headers: { ...API, 'x-user': 'ada', 'x-token': 'secret' } })
  t.equal(both.statusCode, 200)
  t.same(both.json(), { ok: true })

  const either = await server.inject({ url: '/either', headers: API })
  t.equal(either.statusCode, 401, "relation: 'or' with every verifier failing")
  t.same(either.json(), { reason: 'No token either' }, 'the last failure, as @fastify/auth passes it on')
  t.equal((await server.inject({ url: '/either', headers: { ...API, 'x-token': 'secret' } })).statusCode, 200, 'one passing verifier is enough')
})

t.test('a verifier that says more than "401" is answered by what it says', async (t) => {
  const { app: server, reports } = await app({ reportWhen: [403, 500] })
  t.teardown(() => server.close())
  server.after(() => {
    // reply.code(403) before failing: @fastify/auth keeps a status of 400 or more.
    server.get('/coded', {
      preHandler: server.auth([async (request, reply) => { reply.code(403); throw new Error('Admins only') }])
    }, async () => 'never')
    // One of our exceptions: its own status wins over the 401 @fastify/auth put on the reply, as
    // `abort(403)` in a Flask view answers 403 whatever happened before.
    server.get('/aborted', { preHandler: server.auth([async () => abort(403, 'Read-only account')]) }, async () => 'never')
  })
  server.errorhandler(Forbidden)((error) => ({ forbidden: (error as Error).message }))

  const coded = await server.inject({ url: '/coded', headers: API })
  t.equal(coded.statusCode, 403)
  t.same(coded.json(), { forbidden: 'Admins only' }, 'the 403 handler receives the plain error')
  const aborted = await server.inject({ url: '/aborted', headers: API })
  t.equal(aborted.statusCode, 403)
  t.same(aborted.json(), { forbidden: 'Read-only account' })
  await settle()
  t.same(reports.map((report) => [report.status, (report.error as Error).message]), [[403, 'Admins only'], [403, 'Read-only account']], 'reported by the status answered, when reportWhen asks for it')
})
