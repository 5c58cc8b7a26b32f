/**
 * With @fastify/rate-limit registered: its recipe for limiting 404s (a scanner probing URLs) is
 * `setNotFoundHandler({ preHandler: app.rateLimit() }, …)`, which the plugin's own not-found handler
 * makes impossible (Fastify takes one per prefix). The plugin's `notFoundHooks` option is that recipe:
 * the flood of unknown URLs is limited, the 429 carries rate-limit's headers, and an errorhandler(429)
 * sees rate-limit's own error. Over a real socket, since rate-limit keys on the client's address.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import rateLimit from '@fastify/rate-limit'
import flaskErrors from '../../index.js'
import { API, BROWSER, within } from '../helpers.js'

const LIMIT = 3

/** An app whose unknown URLs are limited to LIMIT a minute per client, as rate-limit's README does it. */
async function server (t: Test, handle429: boolean): Promise<{ address: string, seen: unknown[] }> {
  const app = Fastify()
  await app.register(rateLimit, { global: true, max: 100, timeWindow: '1 minute' })
  await app.register(flaskErrors, { notFoundHooks: { preHandler: app.rateLimit({ max: LIMIT, timeWindow: '1 minute' }) } })
  const seen: unknown[] = []
  if (handle429) {
    app.errorhandler(429)((error) => {
      seen.push(error)
      return [{ slowDown: (error as Error).message }, 429]
    })
  }
  app.get('/page', async () => ({ page: true }))
  await app.register(async (api) => {
    api.errorhandler(404)(() => [{ api: 'no such endpoint' }, 404])
  }, { prefix: '/api' })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { address, seen }
}

t.test('with @fastify/rate-limit, the flood of unknown URLs is limited through notFoundHooks', async (t) => {
  const { address } = await server(t, false)
  for (let i = 1; i <= LIMIT; i++) {
    const res = await within(fetch(`${address}/probe-${i}`, { headers: API }))
    await within(res.text())
    t.equal(res.status, 404, `unknown URL ${i} of ${LIMIT}: 404`)
    t.equal(res.headers.get('x-ratelimit-limit'), String(LIMIT), `${i}: rate-limit's headers on the 404`)
    t.equal(res.headers.get('x-ratelimit-remaining'), String(LIMIT - i))
  }
  const limited = await within(fetch(`${address}/probe-next`, { headers: API }))
  t.equal(limited.status, 429, 'over the limit: 429')
  t.equal(limited.headers.get('x-ratelimit-limit'), String(LIMIT))
  t.equal(limited.headers.get('x-ratelimit-remaining'), '0')
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'Retry-After from rate-limit')
  t.match(await within(limited.json()), { statusCode: 429, error: 'Too Many Requests' }, "the plugin's 429 body")
  const page = await within(fetch(`${address}/probe-page`, { headers: BROWSER }))
  t.equal(page.status, 429, 'a browser gets the page')
  t.match(await within(page.text()), /<h1>Too Many Requests<\/h1>/)
  const real = await within(fetch(`${address}/page`, { headers: API }))
  t.equal(real.status, 200, 'real routes keep their own limit')
  t.same(await within(real.json()), { page: true })
})

t.test('the flood is counted across the prefixed contexts that own their 404s, and wrong methods', async (t) => {
  const { address } = await server(t, false)
  const statuses: number[] = []
  for (const [url, method] of [['/api/a', 'GET'], ['/page', 'DELETE'], ['/b', 'GET'], ['/api/c', 'GET']]) {
    const res = await within(fetch(`${address}${url}`, { method, headers: API }))
    await within(res.text())
    statuses.push(res.status)
  }
  t.same(statuses, [404, 405, 404, 429])
})

t.test("an errorhandler(429) sees rate-limit's own error", async (t) => {
  const { address, seen } = await server(t, true)
  for (let i = 0; i < LIMIT; i++) await within((await within(fetch(`${address}/probe-${i}`))).text())
  const res = await within(fetch(`${address}/probe-next`, { headers: API }))
  t.equal(res.status, 429)
  t.same(await within(res.json()), { slowDown: 'Rate limit exceeded, retry in 1 minute' })
  t.equal(res.headers.get('x-ratelimit-remaining'), '0', "the handler's answer keeps rate-limit's headers")
  t.equal(seen.length, 1)
  t.match(seen[0], { statusCode: 429, message: 'Rate limit exceeded, retry in 1 minute' })
})

t.test('a successful request is limited by the route limit only', async (t) => {
  const { address } = await server(t, false)
  const res = await within(fetch(`${address}/page`, { headers: API }))
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-ratelimit-limit'), '100', "the global limit's headers, not the 404 limit's")
  t.equal(res.headers.get('x-ratelimit-remaining'), '99')
  t.same(await within(res.json()), { page: true })
})

t.test("rate-limit's recipe without notFoundHooks fails, as users report: the plugin owns the root not-found handler", async (t) => {
  const app = Fastify()
  await app.register(rateLimit, { global: false })
  await app.register(flaskErrors)
  t.teardown(() => app.close())
  t.throws(() => app.setNotFoundHandler({ preHandler: app.rateLimit() }, (request, reply) => { reply.code(404).send() }), /Not found handler already set/)
})
