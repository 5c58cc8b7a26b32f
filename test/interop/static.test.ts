/**
 * With @fastify/static registered: static serves files through a wildcard route (`GET /public/*`, or
 * `GET /*` at the root) and answers a missing file with `reply.callNotFound()`. That path is routed
 * under GET, so a missing file is a 404 (the file is missing, not the method), answered by the
 * plugin: JSON for an API client, the HTML page for a browser. Over a real socket, as files stream.
 */
import t from 'tap'
import type { Test } from 'tap'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { build, API, BROWSER, within } from '../helpers.js'

const PUBLIC = fileURLToPath(new URL('./fixtures/static/public', import.meta.url))

/** An app serving the fixture files under `prefix`, with a route that calls callNotFound(). */
async function server (t: Test, prefix: string): Promise<string> {
  const { app } = await build()
  await app.register(fastifyStatic, { root: PUBLIC, prefix })
  app.get('/reports/:id', async (request, reply) => {
    // A report that does not exist: the route says so as static does, through the not-found handler.
    return reply.callNotFound()
  })
  app.delete('/reports/:id', async () => ({ deleted: true }))
  app.post('/upload', async () => ({ uploaded: true }))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return address
}

t.test('with @fastify/static under /public/, a missing file answers 404, not 405', async (t) => {
  const address = await server(t, '/public/')
  const json = await within(fetch(`${address}/public/missing.txt`, { headers: API }))
  t.equal(json.status, 404)
  t.equal(json.headers.get('allow'), null, 'no Allow: GET and HEAD do serve the path, the file is what is missing')
  t.match(json.headers.get('content-type'), /^application\/json/)
  t.match(await within(json.json()), { statusCode: 404, error: 'Not Found' })

  const page = await within(fetch(`${address}/public/css/missing.css`, { headers: BROWSER }))
  t.equal(page.status, 404)
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.match(await within(page.text()), /<h1>Not Found<\/h1>/, "the plugin's page for a browser")

  const head = await within(fetch(`${address}/public/missing.txt`, { method: 'HEAD' }))
  t.equal(head.status, 404, 'HEAD of a missing file too')
})

t.test('an existing file is served as before', async (t) => {
  const address = await server(t, '/public/')
  const file = await within(fetch(`${address}/public/hello.txt`))
  t.equal(file.status, 200)
  t.equal(await within(file.text()), 'Hello from a static file.\n')
  const css = await within(fetch(`${address}/public/css/site.css`, { headers: BROWSER }))
  t.equal(css.status, 200)
  t.match(css.headers.get('content-type'), /^text\/css/)
  await within(css.text())
})

t.test('a wrong method on a file is 405 with the methods static serves', async (t) => {
  const address = await server(t, '/public/')
  const res = await within(fetch(`${address}/public/hello.txt`, { method: 'DELETE', headers: API }))
  await within(res.text())
  t.equal(res.status, 405, 'a wildcard under a path serves that URL space')
  t.equal(res.headers.get('allow'), 'GET, HEAD')
})

t.test('a route that calls reply.callNotFound() answers 404, though another method serves its path', async (t) => {
  const address = await server(t, '/public/')
  const res = await within(fetch(`${address}/reports/42`, { headers: API }))
  t.equal(res.status, 404)
  t.equal(res.headers.get('allow'), null)
  t.match(await within(res.json()), { statusCode: 404 })
})

t.test('with @fastify/static at the root (GET /*), unknown URLs and wrong methods elsewhere are not made 405s', async (t) => {
  const address = await server(t, '/')
  const missing = await within(fetch(`${address}/missing.html`, { headers: BROWSER }))
  t.equal(missing.status, 404)
  t.match(await within(missing.text()), /<h1>Not Found<\/h1>/)
  const post = await within(fetch(`${address}/no-such-endpoint`, { method: 'POST', headers: API }))
  await within(post.text())
  t.equal(post.status, 404, "the root catch-all's GET and HEAD are not offered for every URL")
  t.equal(post.headers.get('allow'), null)
  const upload = await within(fetch(`${address}/upload`, { method: 'PUT', headers: API }))
  await within(upload.text())
  t.equal(upload.status, 405)
  t.equal(upload.headers.get('allow'), 'POST', 'a real route lists its own methods only')
  const file = await within(fetch(`${address}/hello.txt`))
  t.equal(await within(file.text()), 'Hello from a static file.\n')
})
