/**
 * With @fastify/helmet registered: helmet writes its security headers onto the raw response in an
 * onRequest hook, before any route runs. Every error response the plugin makes keeps them — a routing
 * 404, an abort, a crash, a handler's own page, the built-in page — over a real socket, as a browser
 * would receive them.
 *
 * The one header both set is `Content-Security-Policy`. On the plugin's built-in page ours wins: it is
 * stricter (nothing but the page's own style, by hash, no frames, no forms), and Fastify's reply
 * headers take precedence over those already on the raw response (Node's `writeHead` merge), so the
 * client receives one policy, ours, under which the page still renders. Everywhere else (JSON, a
 * handler's HTML, templates) helmet's policy is what the app configured and stays.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import type { Test } from 'tap'
import helmet from '@fastify/helmet'
import { build, API, BROWSER, within } from '../helpers.js'

/** Headers helmet sets by default (helmet 8), which must survive on every error response. */
const HELMET = ['strict-transport-security', 'x-frame-options', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'referrer-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'origin-agent-cluster', 'x-xss-protection']

async function server (t: Test) {
  const { app } = await build()
  await app.register(helmet)
  app.get('/ok', async () => ({ ok: true }))
  app.get('/gone', (request, reply) => reply.abort(410, 'This page was removed.'))
  app.get('/crash', () => { throw new Error('database password is hunter2') })
  app.register(async (shop) => {
    shop.errorhandler(404)(() => '<h1>No such product</h1>')
    shop.get('/product', (request, reply) => reply.abort(404))
  }, { prefix: '/shop' })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, address }
}

t.test("helmet's headers stay on every error response", async (t) => {
  const { address } = await server(t)
  const plain = await within(fetch(`${address}/ok`))
  await within(plain.text())
  const helmetCsp = plain.headers.get('content-security-policy')
  t.ok(helmetCsp !== null && helmetCsp.includes("default-src 'self'"), "a successful response has helmet's own policy")
  for (const name of HELMET) t.ok(plain.headers.get(name), `helmet sets ${name}`)

  const cases: Array<[string, number, Record<string, string>]> = [
    ['/no-such-page', 404, API],
    ['/no-such-page', 404, BROWSER],
    ['/gone', 410, API],
    ['/gone', 410, BROWSER],
    ['/crash', 500, API],
    ['/crash', 500, BROWSER],
    ['/shop/product', 404, BROWSER]
  ]
  for (const [url, status, headers] of cases) {
    const label = `${url} (${headers === API ? 'JSON' : 'HTML'})`
    const res = await within(fetch(`${address}${url}`, { headers }))
    const body = await within(res.text())
    t.equal(res.status, status, label)
    for (const name of HELMET) t.equal(res.headers.get(name), plain.headers.get(name), `${label}: ${name}`)
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${label}: nosniff, set by both, sent once`)
    t.notMatch(body, /hunter2/, `${label}: no internals`)
  }
})

t.test('the CSP: ours on the built-in page, helmet\'s everywhere else', async (t) => {
  const { address } = await server(t)
  const ok = await within(fetch(`${address}/ok`))
  await within(ok.text())
  const helmetCsp = ok.headers.get('content-security-policy')

  for (const url of ['/no-such-page', '/gone', '/crash']) {
    const res = await within(fetch(`${address}${url}`, { headers: BROWSER }))
    const html = await within(res.text())
    const csp = res.headers.get('content-security-policy') ?? ''
    t.notOk(csp.includes(','), `${url}: one policy, not two merged into a list`)
    t.match(csp, /^default-src 'none'; /, `${url}: the built-in page's own, stricter policy`)
    t.match(csp, /frame-ancestors 'none'/, `${url}: no framing (helmet's X-Frame-Options says the same)`)
    // The page still renders under it: its only style is allowed by hash, and it has no script.
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)
    t.ok(style, `${url}: the page has its inline style`)
    const hash = createHash('sha256').update(style?.[1] ?? '').digest('base64')
    t.ok(csp.includes(`'sha256-${hash}'`), `${url}: that style is the one the policy allows`)
    t.notMatch(html, /<script/i, `${url}: no script to be blocked`)
  }

  const json = await within(fetch(`${address}/gone`, { headers: API }))
  await within(json.text())
  t.equal(json.headers.get('content-security-policy'), helmetCsp, "JSON errors keep helmet's policy")
  const handled = await within(fetch(`${address}/shop/product`, { headers: BROWSER }))
  t.equal(await within(handled.text()), '<h1>No such product</h1>')
  t.equal(handled.headers.get('content-security-policy'), helmetCsp, "a handler's own page keeps helmet's policy: the app decides what it may load")
})

t.test('helmet with CSP nonces: the built-in page still gets its own policy, and a handler can use the nonce', async (t) => {
  const { app } = await build()
  await app.register(helmet, { enableCSPNonces: true })
  app.errorhandler(404)((error, request, reply) => `<style nonce="${reply.cspNonce.style}">h1{color:red}</style><h1>Lost</h1>`)
  app.register(async (plain) => {
    plain.get('/gone', (request, reply) => reply.abort(410))
  })
  t.teardown(() => app.close())

  const page = await app.inject({ url: '/gone', headers: BROWSER })
  t.equal(page.statusCode, 410)
  t.match(page.headers['content-security-policy'], /^default-src 'none'; /, 'the built-in page: ours')
  const handled = await app.inject({ url: '/missing', headers: BROWSER })
  t.equal(handled.statusCode, 404)
  const nonce = /nonce="([0-9a-f]+)"/.exec(handled.body)?.[1]
  t.ok(nonce, 'the handler read the nonce of this request')
  t.match(handled.headers['content-security-policy'], new RegExp(`'nonce-${nonce ?? 'none'}'`), "helmet's policy, with this request's nonce, allows the handler's style")
})
