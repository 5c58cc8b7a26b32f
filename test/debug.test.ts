/**
 * lib/debug.ts and debug mode end to end: the debug page and JSON (error, cause chain, stack with the
 * app's source lines, the request with credentials masked), escaping, the CSP, and that nothing of it
 * shows when debug is off or in production.
 */
import t from 'tap'
import Fastify from 'fastify'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createHash } from 'node:crypto'
import flaskErrors, { FFE_INVALID_OPTION, InternalServerError, ServiceUnavailable, abort, stackCapture } from '../index.js'
import {
  DEBUG_PAGE_HEADERS, cachedSourceCount, debugJson, debugPage, debugReport, errorChain, excerpt, parseStack
} from '../lib/debug.js'
import { createRedaction } from '../lib/redact.js'
import { errorView } from '../lib/pages.js'
import { readThrown } from '../lib/thrown.js'
import { build, API, BROWSER } from './helpers.js'

const THIS_FILE = new URL(import.meta.url).pathname

t.teardown(() => { stackCapture.enabled = false })

class DatabaseError extends Error {}

/** An app in debug mode with a route that crashes with a cause chain. */
async function debugApp (options: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof build>>> {
  const built = await build({ debug: true, ...options })
  built.app.get('/crash', () => {
    throw new DatabaseError('password rejected for db.internal:5432', { cause: new TypeError('socket <closed>') })
  })
  return built
}

const HEADERS = {
  ...BROWSER,
  cookie: 'session=s3cr3t; theme=dark',
  authorization: 'Bearer abc.def.ghi',
  'proxy-authorization': 'Basic dXNlcjpwYXNz',
  'x-api-key': 'key-123',
  'x-trace': 'visible-value'
}

t.test('debug off (the default): a 500 shows neither message, nor stack, nor request', async (t) => {
  const { app } = await build()
  app.get('/crash', () => { throw new DatabaseError('password rejected for db.internal:5432') })
  for (const headers of [HEADERS, { ...HEADERS, accept: 'application/json' }]) {
    const res = await app.inject({ url: '/crash', headers })
    t.equal(res.statusCode, 500)
    t.notMatch(res.body, /password|db\.internal|DatabaseError|debug\.test\.ts|s3cr3t|visible-value/)
  }
})

t.test('debug on: the page shows the error, its cause, the source of the app\'s frames and the request', async (t) => {
  const { app } = await debugApp()
  const res = await app.inject({ url: '/crash?q=1', headers: HEADERS })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  const body = res.body
  t.match(body, /<h1>DatabaseError: password rejected for db\.internal:5432<\/h1>/)
  t.match(body, /caused by<\/small> TypeError: socket &lt;closed&gt;/, 'the cause chain, escaped')
  t.match(body, new RegExp(`${THIS_FILE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`), 'a frame of this file')
  t.match(body, /<span class="cur">\s*\d+ {2}\s*throw new DatabaseError\(&#39;password rejected/, 'the source line that threw, highlighted')
  t.match(body, /<details><summary>\d+ frames in Node and node_modules<\/summary>/, 'library frames folded')
  t.match(body, /<th>method<\/th><td>GET<\/td>/)
  t.match(body, /<th>url<\/th><td>\/crash\?q=1<\/td>/)
  t.match(body, /<th>cookie<\/th><td>session=\[masked\]; theme=\[masked\]<\/td>/)
  t.match(body, /<th>authorization<\/th><td>Bearer \[masked\]<\/td>/)
  t.match(body, /<th>proxy-authorization<\/th><td>Basic \[masked\]<\/td>/)
  t.match(body, /<th>x-api-key<\/th><td>\[masked\]<\/td>/)
  t.match(body, /<th>x-trace<\/th><td>visible-value<\/td>/)
  t.notMatch(body, /s3cr3t|abc\.def\.ghi|dXNlcjpwYXNz|key-123/, 'no credential leaves the server')
  t.match(body, /Reference: <code>req-1<\/code>/)
  t.notMatch(body, /<script/i, 'no script on the page')
})

t.test('the debug page is a safe page: a CSP that allows only its own style, nosniff, no-store', async (t) => {
  const { app } = await debugApp()
  const res = await app.inject({ url: '/crash', headers: BROWSER })
  const csp = res.headers['content-security-policy'] as string
  t.equal(csp, DEBUG_PAGE_HEADERS['content-security-policy'])
  t.match(csp, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/)
  const style = /<style>(.*?)<\/style>/.exec(res.body)?.[1] ?? ''
  t.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the hash is that of the page\'s own style')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['cache-control'], 'no-store')
})

t.test('debug on: JSON clients get the same as JSON', async (t) => {
  const { app } = await debugApp()
  const res = await app.inject({ url: '/crash', headers: { ...HEADERS, accept: 'application/json' } })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { statusCode: 500, error: 'Internal Server Error', message: 'password rejected for db.internal:5432', requestId: 'req-1' })
  t.match(body.debug.errors, [
    { relation: 'error', type: 'DatabaseError', message: 'password rejected for db.internal:5432' },
    { relation: 'cause', type: 'TypeError', message: 'socket <closed>' }
  ])
  t.ok(body.debug.errors[0].frames.some((f: { file: string, app: boolean }) => f.file === THIS_FILE && f.app))
  t.ok(body.debug.errors[0].frames.some((f: { app: boolean }) => !f.app))
  t.same(body.debug.request.headers.cookie, 'session=[masked]; theme=[masked]')
  t.same(body.debug.request.headers.authorization, 'Bearer [masked]')
  t.equal(body.debug.request.method, 'GET')
})

t.test('debug on: 500 handlers are skipped; a failing handler shows what it was handling', async (t) => {
  const { app } = await debugApp()
  app.errorhandler(500)(() => 'the site 500 page')
  app.errorhandler(404)(() => { throw new RangeError('404 handler broke') })
  app.get('/missing', () => abort(404, 'no such thing'))
  const crash = await app.inject({ url: '/crash', headers: BROWSER })
  t.notMatch(crash.body, /the site 500 page/)
  const res = await app.inject({ url: '/missing', headers: API })
  t.equal(res.statusCode, 500)
  t.match(res.json().debug.errors, [
    { relation: 'error', type: 'RangeError', message: '404 handler broke' },
    { relation: 'while handling', type: 'NotFound', message: 'no such thing' }
  ])
  const page = await app.inject({ url: '/missing', headers: BROWSER })
  t.match(page.body, /raised while handling<\/small> NotFound: no such thing/)
})

t.test('debug on: 4xx keep their normal page; HTTP exceptions carry a stack', async (t) => {
  const { app } = await debugApp()
  app.get('/missing', () => abort(404, 'no such thing'))
  app.get('/busy', () => abort(503, 'maintenance'))
  const res = await app.inject({ url: '/missing', headers: BROWSER })
  t.equal(res.statusCode, 404)
  t.match(res.body, /<p class="status">404<\/p>/)
  t.notMatch(res.body, /debug\.test\.ts/)
  t.equal(stackCapture.enabled, true, 'debug mode turns stack capture on')
  const busy = await app.inject({ url: '/busy', headers: API })
  t.equal(busy.statusCode, 503)
  t.match(busy.json().debug.errors[0], { type: 'ServiceUnavailable', message: 'maintenance', code: undefined })
  t.ok(busy.json().debug.errors[0].frames.some((f: { file: string }) => f.file === THIS_FILE), 'where the abort came from')
})

t.test('debug on: everything is escaped — message, URL, header names and values', async (t) => {
  const { app } = await build({ debug: true })
  app.get('/*', () => { throw new Error('<img src=x onerror=alert(1)>') })
  const res = await app.inject({ url: "/x/'\"&<b>", headers: { ...BROWSER, 'x-evil': '<script>alert(1)</script>' } })
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /<img|<script|<b>/)
  t.match(res.body, /&lt;img src=x onerror=alert\(1\)&gt;/)
  t.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
  t.match(res.body, /\/x\/&#39;/)
})

t.test('debug in a child context only', async (t) => {
  const { app } = await build()
  await app.register(async (admin) => {
    await admin.register(flaskErrors, { debug: true })
    admin.get('/crash', () => { throw new Error('admin broke') })
  }, { prefix: '/admin' })
  app.get('/crash', () => { throw new Error('site broke') })
  t.match((await app.inject({ url: '/admin/crash', headers: API })).json().debug.errors[0].message, 'admin broke')
  const site = await app.inject({ url: '/crash', headers: API })
  t.equal(site.json().debug, undefined)
  t.notMatch(site.body, /site broke/)
})

t.test('production: debug: true is refused, \'force\' is explicit; without debug, no stack ever', async (t) => {
  const saved = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => { process.env.NODE_ENV = saved })
  await t.rejects(async () => { await Fastify().register(flaskErrors, { debug: true }).ready() }, FFE_INVALID_OPTION)
  const { app } = await build()
  app.get('/crash', () => { throw new DatabaseError('password rejected', { cause: new Error('inner') }) })
  for (const headers of [BROWSER, API]) {
    const res = await app.inject({ url: '/crash', headers })
    t.notMatch(res.body, /password|inner|DatabaseError|at .*:\d+:\d+/)
  }
  const forced = await build({ debug: 'force' })
  forced.app.get('/crash', () => { throw new Error('staging only') })
  t.match((await forced.app.inject({ url: '/crash', headers: API })).json().message, 'staging only')
})

t.test('parseStack: V8 frames, file URLs, Node\'s frames, anonymous ones; non-frames skipped', async (t) => {
  const frames = parseStack([
    'Error: message',
    `    at handler (${pathToFileURL(THIS_FILE).href}:1:1)`,
    '    at Object.run (/srv/app/node_modules/lib/index.js:10:5)',
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    '    at file://remote-host/share/app.js:3:4',
    `    at ${THIS_FILE}:2:7`,
    '    at async Promise.all (index 0)',
    '    at new Thing (<anonymous>)',
    '    ... 4 lines matching cause stack trace ...'
  ].join('\n'))
  t.match(frames, [
    { fn: 'handler', file: THIS_FILE, line: 1, column: 1, app: true },
    { fn: 'Object.run', file: '/srv/app/node_modules/lib/index.js', line: 10, app: false, source: undefined },
    { fn: 'process.processTicksAndRejections', file: 'node:internal/process/task_queues', app: false },
    { fn: '', file: 'file://remote-host/share/app.js', app: false },
    { fn: '', file: THIS_FILE, line: 2, column: 7, app: true }
  ])
  t.equal(frames.length, 5)
  t.match(frames[0].source, [{ number: 1, current: true, text: /^\/\*\*$/ }, { number: 2 }, { number: 3 }, { number: 4, current: false }])
  t.equal(parseStack(Array.from({ length: 50 }, (_, i) => `    at f${i} (/x.js:${i + 1}:1)`).join('\n')).length, 30, 'at most 30 frames')
})

t.test('excerpt: bounded reads, missing and huge files, lines out of range', async (t) => {
  const dir = t.testdir({ 'small.js': 'one\ntwo\r\nthree\nfour\nfive\nsix\nseven\neight', 'huge.js': 'x'.repeat(1024 * 1024 + 1) })
  t.same(excerpt(join(dir, 'small.js'), 5), [
    { number: 2, text: 'two', current: false },
    { number: 3, text: 'three', current: false },
    { number: 4, text: 'four', current: false },
    { number: 5, text: 'five', current: true },
    { number: 6, text: 'six', current: false },
    { number: 7, text: 'seven', current: false },
    { number: 8, text: 'eight', current: false }
  ])
  t.equal(excerpt(join(dir, 'small.js'), 0), undefined)
  t.equal(excerpt(join(dir, 'small.js'), 99), undefined)
  t.equal(excerpt(join(dir, 'huge.js'), 1), undefined, 'files over 1 MiB are not read')
  t.equal(excerpt(join(dir, 'missing.js'), 1), undefined)
  t.equal(excerpt(dir, 1), undefined, 'a directory')
  writeFileSync(join(dir, 'small.js'), 'changed')
  t.equal(excerpt(join(dir, 'small.js'), 5)?.[3].text, 'five', 'read once: later reads come from memory')
  for (let i = 0; i < 80; i++) excerpt(join(dir, `missing-${i}.js`), 1)
  t.equal(cachedSourceCount(), 64, 'at most 64 files are kept')
})

t.test('errorChain: unwraps 500s, follows causes, stops at cycles and depth, reads hostile values safely', async (t) => {
  const root = new Error('root')
  const wrapped = new InternalServerError(undefined, { originalError: root })
  t.match(errorChain(wrapped), [{ relation: 'error', type: 'Error', message: 'root' }])
  t.equal(errorChain(wrapped).length, 1)
  t.match(errorChain(new InternalServerError()), [{ type: 'InternalServerError', message: 'Something went wrong on our side.' }], 'a bare 500 is itself')

  const a = new Error('a')
  const b = new Error('b', { cause: a })
  ;(a as { cause?: unknown }).cause = b
  t.equal(errorChain(b).length, 2, 'a cycle is cut at the first repeat')

  let deep: unknown = new Error('bottom')
  for (let i = 0; i < 20; i++) deep = new Error(`level ${i}`, { cause: deep })
  t.equal(errorChain(deep).length, 8, 'at most 8 errors')

  t.match(errorChain(new Error('top', { cause: 'a string cause' })), [{ type: 'Error' }, { relation: 'cause', type: 'string', message: '"a string cause"', frames: [] }])
  t.match(errorChain(new Error('top', { cause: null })), [{}, { type: 'null', message: 'null' }])

  const getter = new Error('getter')
  Object.defineProperty(getter, 'cause', { get () { throw new Error('no cause for you') } })
  t.equal(errorChain(getter).length, 1, 'a throwing cause getter ends the chain')

  const hostile = new Error('hostile')
  Object.defineProperty(hostile, 'message', { get () { throw new Error('no message') } })
  t.match(errorChain(hostile), [{ type: 'object', message: 'Error object' }], 'unreadable errors are described, not read')

  const noStack = new Error('no stack')
  noStack.stack = undefined
  t.match(errorChain(noStack), [{ stack: '', frames: [] }])
  const Anonymous = class extends Error {}
  Object.defineProperty(Anonymous, 'name', { value: '' })
  const anonymous = new Anonymous('anon')
  anonymous.name = 'CustomName'
  t.match(errorChain(anonymous), [{ type: 'CustomName' }], 'an anonymous class: the error\'s name')
  t.match(errorChain(Object.assign(new Error('coded'), { code: 'ECONNREFUSED' })), [{ code: 'ECONNREFUSED' }])
  t.match(errorChain(Object.assign(new Error('numeric code'), { code: 42 })), [{ code: undefined }])

  const failure = new Error('handler failed')
  const original = new Error('original')
  t.match(errorChain(new InternalServerError(undefined, { originalError: failure, cause: original })), [
    { relation: 'error', message: 'handler failed' },
    { relation: 'while handling', message: 'original' }
  ])
})

t.test('the request summary joins repeated headers', async (t) => {
  const view = errorView(500, readThrown(new Error('x')), new Error('x'), 'req-9', '/p')
  const request = { method: 'POST', url: '/p', headers: { 'x-list': ['a', 'b'], cookie: 'k=v' } }
  const report = debugReport(new Error('x'), view, request as never, createRedaction())
  t.same(report.request, { method: 'POST', url: '/p', headers: { 'x-list': 'a, b', cookie: 'k=[masked]' } })
  t.equal(report.requestId, 'req-9')
  const page = debugPage(report)
  t.match(page, /<title>500 Internal Server Error: Error<\/title>/)
  t.same(JSON.parse(debugJson(report)).debug.request.headers, { 'x-list': 'a, b', cookie: 'k=[masked]' })
})

t.test('a value without a stack: the page says so', async (t) => {
  const { app } = await build({ debug: true })
  // eslint-disable-next-line no-throw-literal
  app.get('/', () => { throw 'a thrown string' })
  const res = await app.inject({ url: '/', headers: BROWSER })
  t.equal(res.statusCode, 500)
  t.match(res.body, /<h1>string: &#34;a thrown string&#34;<\/h1>|<h1>string: &quot;a thrown string&quot;<\/h1>/)
  t.match(res.body, /No stack trace\./)
  const one = debugPage({ status: 503, name: 'Service Unavailable', requestId: 'r', errors: errorChain(Object.assign(new ServiceUnavailable(), { stack: 'x\n    at lib (node:internal/x:1:1)' })), request: { method: 'GET', url: '/', headers: {} } })
  t.match(one, /<summary>1 frame in Node and node_modules<\/summary>/)
  const coded = Object.assign(new Error('refused'), { code: 'ECONNREFUSED', stack: 'Error: refused\n    at /srv/app.js:1:1' })
  const page = debugPage({ status: 500, name: 'Internal Server Error', requestId: 'r', errors: errorChain(coded), request: { method: 'GET', url: '/', headers: {} } })
  t.match(page, /Error: refused <small>\(ECONNREFUSED\)<\/small>/)
  t.match(page, /<div class="loc">\/srv\/app\.js:1:1<\/div>/, 'an anonymous frame: the location only')
})
