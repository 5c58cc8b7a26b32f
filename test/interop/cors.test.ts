/**
 * With @fastify/cors registered: cors answers preflights with a catch-all route, `OPTIONS *`, and sets
 * its headers (`Access-Control-Allow-Origin`, `Vary: Origin`) in an onRequest hook. That catch-all
 * must not make every unknown URL a `405 Allow: OPTIONS`; cors's preflights must still be cors's, and
 * its headers must survive on the plugin's error responses. Over a real socket, as a browser's fetch
 * would see them.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import flaskErrors from '../../index.js'
import { build, API, BROWSER, within } from '../helpers.js'

const ORIGIN = 'https://app.example'

/** An app with cors (registered before or after the plugin), routes, and an /api context with a 404 handler. */
async function server (t: Test, order: 'cors first' | 'plugin first'): Promise<string> {
  let app: FastifyInstance
  if (order === 'cors first') {
    app = Fastify()
    await app.register(cors, { origin: [ORIGIN] })
    await app.register(flaskErrors)
  } else {
    app = (await build()).app
    await app.register(cors, { origin: [ORIGIN] })
  }
  return await listen(t, app)
}

/** Adds the routes and listens on 127.0.0.1; the app is closed when the test ends. */
async function listen (t: Test, app: FastifyInstance): Promise<string> {
  app.get('/things', async () => [])
  app.post('/things', async () => ({ created: true }))
  app.get('/report', async () => 'report')
  app.options('/report', async (request, reply) => reply.header('allow', 'GET, OPTIONS').code(204).send())
  await app.register(async (api) => {
    api.errorhandler(404)(() => [{ api: 'no such endpoint' }, 404])
    api.get('/users', async () => [])
  }, { prefix: '/api' })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return address
}

for (const order of ['cors first', 'plugin first'] as const) {
  t.test(`with @fastify/cors registered (${order}), an unknown URL answers 404, not 405`, async (t) => {
    const address = await server(t, order)
    for (const [url, headers] of [['/no-such-page', API], ['/no-such-page', BROWSER], ['/deep/no/such/page?x=1', API]] as const) {
      const res = await within(fetch(`${address}${url}`, { headers: { ...headers, origin: ORIGIN } }))
      await within(res.text())
      t.equal(res.status, 404, url)
      t.equal(res.headers.get('allow'), null, `${url}: no Allow`)
      t.equal(res.headers.get('access-control-allow-origin'), ORIGIN, `${url}: cors's header stays on the error`)
    }
    const api = await within(fetch(`${address}/api/no-such-endpoint`, { headers: API }))
    t.equal(api.status, 404, 'under the /api prefix too')
    t.same(await within(api.json()), { api: 'no such endpoint' }, "the /api context's handler answers")
    t.equal(api.headers.get('allow'), null)
    const unknownMethod = await within(fetch(`${address}/no-such-page`, { method: 'DELETE', headers: API }))
    await within(unknownMethod.text())
    t.equal(unknownMethod.status, 404, 'any method')
  })

  t.test(`a preflight is still answered by cors (${order})`, async (t) => {
    const address = await server(t, order)
    for (const url of ['/things', '/api/users', '/no-such-page']) {
      const res = await within(fetch(`${address}${url}`, {
        method: 'OPTIONS',
        headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
      }))
      t.equal(await within(res.text()), '', url)
      t.equal(res.status, 204, `${url}: cors's 204`)
      t.equal(res.headers.get('access-control-allow-origin'), ORIGIN, url)
      t.match(res.headers.get('access-control-allow-methods'), /POST/, url)
    }
  })

  t.test(`a wrong method on a real route is still 405, Allow without cors's OPTIONS (${order})`, async (t) => {
    const address = await server(t, order)
    const res = await within(fetch(`${address}/things`, { method: 'DELETE', headers: { ...API, origin: ORIGIN } }))
    t.equal(res.status, 405)
    t.equal(res.headers.get('allow'), 'GET, HEAD, POST', 'OPTIONS only comes from the catch-all: not listed')
    t.equal((await within(res.json()) as { error: string }).error, 'Method Not Allowed')
    const api = await within(fetch(`${address}/api/users`, { method: 'PUT', headers: API }))
    await within(api.text())
    t.equal(api.status, 405)
    t.equal(api.headers.get('allow'), 'GET, HEAD')
    const withOptions = await within(fetch(`${address}/report`, { method: 'PATCH', headers: API }))
    await within(withOptions.text())
    t.equal(withOptions.headers.get('allow'), 'GET, HEAD, OPTIONS', 'a real OPTIONS route for the path is listed')
  })
}

t.test('with cors registered inside the /api context only, /api/unknown answers 404', async (t) => {
  const { app } = await build()
  await app.register(async (api) => {
    await api.register(cors, { origin: [ORIGIN] })
    api.get('/users', async () => [])
  }, { prefix: '/api' })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const res = await within(fetch(`${address}/api/unknown`, { headers: { ...API, origin: ORIGIN } }))
  await within(res.text())
  t.equal(res.status, 404)
  t.equal(res.headers.get('allow'), null)
  const wrong = await within(fetch(`${address}/api/users`, { method: 'POST', headers: API }))
  await within(wrong.text())
  t.equal(wrong.headers.get('allow'), 'GET, HEAD')
  const preflight = await within(fetch(`${address}/api/users`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } }))
  await within(preflight.text())
  t.equal(preflight.status, 204)
})

t.test("cors's Vary: Origin survives on an error response (Vary: Origin, Accept)", async (t) => {
  const address = await server(t, 'plugin first')
  for (const [url, method] of [['/no-such-page', 'GET'], ['/things', 'DELETE']] as const) {
    const res = await within(fetch(`${address}${url}`, { method, headers: { ...BROWSER, origin: ORIGIN } }))
    await within(res.text())
    t.equal(res.headers.get('vary'), 'Origin, Accept', `${method} ${url}: cors's Vary kept, ours appended`)
    t.equal(res.headers.get('access-control-allow-origin'), ORIGIN)
  }
})
