/**
 * reply.errorFormat(): a handler asks which representation the default response would take for
 * this request — the `format` option in force for the request's context (for an unknown URL, the
 * context owning its prefix), then the client's Accept — so one root handler answers HTML pages
 * for the site and JSON under an `/api` that always answers JSON.
 */
import t from 'tap'
import flaskErrors, { frameworkErrors } from '../index.js'
import type { Representation } from '../index.js'
import { API, BROWSER, build } from './helpers.js'

t.test('the README /api example: one root 500 handler, HTML for the site, JSON under /api', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  // As the README writes it (Options).
  app.errorhandler(500)((error, request, reply) =>
    reply.errorFormat() === 'html' ? ['<h1>Oops</h1><p>We are on it.</p>', 500] : error) // JSON: the default response

  await app.register(async (api) => {
    await api.register(flaskErrors, { format: 'json' })
    api.get('/users', async () => { throw new Error('database down') })
  }, { prefix: '/api' })
  app.get('/shop', async () => { throw new Error('database down') })

  const apiCrash = await app.inject({ url: '/api/users', headers: BROWSER })
  t.equal(apiCrash.statusCode, 500)
  t.match(apiCrash.headers['content-type'], /^application\/json/, 'an /api crash is JSON, even for a browser')
  t.same(Object.keys(apiCrash.json()).sort(), ['error', 'message', 'requestId', 'statusCode'])
  t.notMatch(apiCrash.body, /database down/, 'the default 500: nothing of the error shown')

  const siteCrash = await app.inject({ url: '/shop', headers: BROWSER })
  t.equal(siteCrash.statusCode, 500)
  t.match(siteCrash.headers['content-type'], /^text\/html/)
  t.equal(siteCrash.body, '<h1>Oops</h1><p>We are on it.</p>', 'a site crash from a browser is the HTML page')
  t.match(siteCrash.headers.vary, /\bAccept\b/, 'the handler\'s answer depends on Accept, and says so')

  const siteFromApiClient = await app.inject({ url: '/shop', headers: API })
  t.equal(siteFromApiClient.statusCode, 500)
  t.match(siteFromApiClient.headers['content-type'], /^application\/json/, 'an API client of the site gets JSON')
})

/** An app whose handlers answer with what errorFormat() said, for every error. */
async function echoing (options: Parameters<typeof build>[0] = {}, server: Parameters<typeof build>[1] = {}): Promise<Awaited<ReturnType<typeof build>>> {
  const built = await build(options, server)
  const { app } = built
  const echo = (error: unknown, request: unknown, reply: { errorFormat: () => Representation }): [string, number] => [reply.errorFormat(), 418]
  app.errorhandler(404)(echo)
  app.errorhandler(400)(echo)
  app.errorhandler(500)(echo)
  app.get('/crash', async () => { throw new Error('x') })
  app.get('/:param', async () => 'ok')
  await app.register(async (api) => {
    await api.register(flaskErrors, { format: 'json' })
    api.get('/crash', async () => { throw new Error('x') })
    api.get('/:param', async () => 'ok')
  }, { prefix: '/api' })
  await app.register(async (pages) => {
    await pages.register(flaskErrors, { format: 'html' })
    pages.get('/crash', async () => { throw new Error('x') })
  }, { prefix: '/pages' })
  t.teardown(() => app.close())
  return built
}

t.test('the context\'s format first, then Accept', async (t) => {
  const { app } = await echoing()
  const cases: Array<[string, Record<string, string>, string, string]> = [
    ['/crash', BROWSER, 'html', 'the site, a browser'],
    ['/crash', API, 'json', 'the site, an API client'],
    ['/crash', {}, 'json', 'the site, no Accept'],
    ['/api/crash', BROWSER, 'json', 'format: json, a browser'],
    ['/pages/crash', API, 'html', 'format: html, an API client'],
    ['/nowhere/at/all', BROWSER, 'html', 'an unknown URL of the site'],
    ['/api/nowhere/at/all', BROWSER, 'json', 'an unknown URL under /api: the context owning the prefix'],
    ['/pages/nowhere/at/all', API, 'html', 'an unknown URL under /pages']
  ]
  for (const [url, headers, expected, label] of cases) {
    const res = await app.inject({ url, headers })
    t.same([res.statusCode, res.body], [418, expected], label)
  }
})

t.test('Vary: Accept is added only where the answer depends on it, next to what is there', async (t) => {
  const { app } = await echoing()
  app.addHook('onRequest', async (request, reply) => { reply.header('vary', 'Origin') })
  const site = await app.inject({ url: '/crash', headers: BROWSER })
  t.equal(site.headers.vary, 'Origin, Accept', 'negotiated: appended, Origin kept')
  const api = await app.inject({ url: '/api/crash', headers: BROWSER })
  t.equal(api.headers.vary, 'Origin', 'format: json does not depend on Accept')
})

t.test('malformed URLs (frameworkErrors) follow the context owning the prefix too', async (t) => {
  const { app } = await echoing({}, { frameworkErrors })
  const site = await app.inject({ url: '/%c0', headers: BROWSER })
  t.same([site.statusCode, site.body], [418, 'html'])
  const api = await app.inject({ url: '/api/%c0', headers: BROWSER })
  t.same([api.statusCode, api.body], [418, 'json'])
})

t.test('usable outside error handling: a route can answer in the same format its errors take', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  app.get('/format', async (request, reply) => reply.errorFormat())
  t.equal((await app.inject({ url: '/format', headers: BROWSER })).body, 'html')
  t.equal((await app.inject({ url: '/format', headers: API })).body, 'json')
})
