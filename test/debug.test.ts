/**
 * Debug mode end to end (lib/debug.ts, debug-report.ts, debug-page.ts, sources.ts): the debug page and JSON (error, cause chain, stack with the
 * app's source lines, the request with credentials masked), escaping, the CSP, and that nothing of it
 * shows when debug is off or in production.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import flaskErrors, { FFE_INVALID_OPTION, InternalServerError, ServiceUnavailable, abort } from '../index.js'
import { debugJson } from '../lib/debug.js'
import { DEBUG_PAGE_HEADERS, debugPage } from '../lib/debug-page.js'
import { debugReport, errorChain } from '../lib/debug-report.js'
import { SourceFiles } from '../lib/sources.js'
import { errorView } from '../lib/pages.js'
import { createRedaction } from '../lib/redact.js'
import { readThrown } from '../lib/thrown.js'
import { build, API, BROWSER, LEVEL } from './helpers.js'

const THIS_FILE = new URL(import.meta.url).pathname

/** The app's source files as the plugin sees them: the working directory is the app's root. */
const APP_FILES = new SourceFiles(process.cwd())

/** An error whose stack is `frames` after its own header, as V8 would print it. */
function withFrames (frames: readonly string[], message = 'message'): Error {
  const error = new Error(message)
  error.stack = [`Error: ${message}`, ...frames].join('\n')
  return error
}

/** An app in debug mode whose `/` throws `error`. */
async function throwing (t: Test, error: unknown): Promise<FastifyInstance> {
  const { app } = await build({ debug: true })
  t.teardown(() => app.close())
  app.get('/', () => { throw error })
  return app
}

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
  t.match(body, /<details><summary>\d+ frames in Node, node_modules and outside the app<\/summary>/, 'library frames folded')
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

t.test('debug on: 4xx keep their normal page; reply.abort carries the stack of its call', async (t) => {
  const { app } = await debugApp()
  app.get('/missing', (request, reply) => reply.abort(404, 'no such thing'))
  app.get('/busy', function busyRoute (request, reply) { return reply.abort(503, 'maintenance') })
  const res = await app.inject({ url: '/missing', headers: BROWSER })
  t.equal(res.statusCode, 404)
  t.match(res.body, /<p class="status">404<\/p>/)
  t.notMatch(res.body, /debug\.test\.ts/)
  const busy = await app.inject({ url: '/busy', headers: API })
  t.equal(busy.statusCode, 503)
  t.match(busy.json().debug.errors[0], { type: 'ServiceUnavailable', message: 'maintenance', code: undefined })
  t.match(busy.json().debug.errors[0].frames[0], { fn: 'Object.busyRoute', file: THIS_FILE, app: true }, 'the first frame is the call of reply.abort')
  const page = await app.inject({ url: '/busy', headers: BROWSER })
  t.match(page.body, /busyRoute — [^<]*debug\.test\.ts:\d+:\d+<\/div><pre>.*reply\.abort\(503, &#39;maintenance&#39;\)/s, 'with its source line')
})

t.test('debug on: a bare abort() or new NotFound() cannot know its app: no stack, and the page says how to get one', async (t) => {
  const { app } = await debugApp()
  app.get('/bare', () => abort(503, 'maintenance'))
  app.get('/sent', (request, reply) => reply.send(new ServiceUnavailable('sent')))
  // eslint-disable-next-line no-throw-literal
  app.get('/string', () => { throw 'no stack' })
  for (const url of ['/bare', '/sent']) {
    const json = await app.inject({ url, headers: API })
    t.equal(json.statusCode, 503)
    t.same(json.json().debug.errors[0].frames, [], `${url}: no frames`)
    const page = await app.inject({ url, headers: BROWSER })
    t.match(page.body, /No stack trace: HTTP exceptions are made without one \(an abort is control flow\), except by <code>reply\.abort\(…\)<\/code> in a context in debug mode\./)
  }
  t.match((await app.inject({ url: '/string', headers: BROWSER })).body, /<p class="note">No stack trace\.<\/p>/, 'other values keep the plain note')
})

/** The stacks of the 503s `app` answers, as its 503 handler sees them. */
function stacksOf (app: FastifyInstance): Array<string | undefined> {
  const stacks: Array<string | undefined> = []
  app.errorhandler(503)((error) => {
    stacks.push((error as Error).stack)
    return error
  })
  return stacks
}

t.test('stack capture belongs to the app and context in debug mode, not to the process', async (t) => {
  const { app: debugging } = await debugApp()
  const { app: plain } = await build()
  t.teardown(() => plain.close())
  const stacks = stacksOf(plain)
  plain.get('/busy', (request, reply) => reply.abort(503))
  plain.get('/bare', () => abort(503))
  await plain.inject({ url: '/busy', headers: API })
  await plain.inject({ url: '/bare', headers: API })
  t.equal(stacks.length, 2)
  for (const stack of stacks) t.notMatch(stack, /\n {4}at /, 'another app in the same process: no stack, as with no debug mode anywhere')
  await debugging.close()

  const { app: root } = await build()
  t.teardown(() => root.close())
  const rootStacks = stacksOf(root)
  root.get('/busy', (request, reply) => reply.abort(503))
  await root.register(async (admin) => {
    await admin.register(flaskErrors, { debug: true })
    // A second registration in the same context keeps its decorator (and says so again).
    await admin.register(flaskErrors, { debug: true })
    admin.get('/busy', (request, reply) => reply.abort(503))
    await admin.register(async (quiet) => {
      await quiet.register(flaskErrors, { debug: false })
      quiet.get('/busy', (request, reply) => reply.abort(503))
    }, { prefix: '/quiet' })
  }, { prefix: '/admin' })
  t.match((await root.inject({ url: '/admin/busy', headers: API })).json().debug.errors[0].frames[0], { file: THIS_FILE }, 'the debug context')
  await root.inject({ url: '/busy', headers: API })
  await root.inject({ url: '/admin/quiet/busy', headers: API })
  t.equal(rootStacks.length, 2, 'the root\'s 503 handler answered the root and the context that turned debug off')
  for (const stack of rootStacks) t.notMatch(stack, /\n {4}at /, 'outside the debug context: no stack')
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
  // Assigning undefined would store the string "undefined" (process.env holds strings only).
  t.teardown(() => { if (saved === undefined) delete process.env.NODE_ENV; else process.env.NODE_ENV = saved })
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

t.test('frames: V8 frames, file URLs, Node\'s frames, anonymous ones; positionless ones skipped; the frames end at the first other line', async (t) => {
  const dependency = join(process.cwd(), 'node_modules', 'some-lib', 'index.js')
  const app = await throwing(t, withFrames([
    `    at handler (${pathToFileURL(THIS_FILE).href}:1:1)`,
    '    at Object.run (/srv/app/node_modules/lib/index.js:10:5)',
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    '    at file://remote-host/share/app.js:3:4',
    `    at ${THIS_FILE}:2:7`,
    '    at async Promise.all (index 0)',
    '    at new Thing (<anonymous>)',
    `    at eval (eval at <anonymous> (${THIS_FILE}:1:2), <anonymous>:1:1)`,
    `    at ${dependency}:1:1`,
    'Caused by: Error: appended by a library',
    `    at after (${THIS_FILE}:3:1)`
  ]))
  t.same((await app.inject({ url: '/', headers: API })).json().debug.errors[0].frames, [
    { fn: 'handler', file: THIS_FILE, line: 1, column: 1, app: true },
    { fn: 'Object.run', file: '/srv/app/node_modules/lib/index.js', line: 10, column: 5, app: false },
    { fn: 'process.processTicksAndRejections', file: 'node:internal/process/task_queues', line: 95, column: 5, app: false },
    { fn: '', file: 'file://remote-host/share/app.js', line: 3, column: 4, app: false },
    { fn: '', file: THIS_FILE, line: 2, column: 7, app: true },
    { fn: 'eval', file: `eval at <anonymous> (${THIS_FILE}:1:2), <anonymous>`, line: 1, column: 1, app: false },
    { fn: '', file: dependency, line: 1, column: 1, app: false }
  ], 'what follows a line that is not a frame is not read as frames')
  const page = (await app.inject({ url: '/', headers: BROWSER })).body
  t.match(page, /<div class="loc">handler — [^<]*debug\.test\.ts:1:1<\/div><pre><span class="cur"> {4}1 {2}\/\*\*<\/span><span> {4}2 {2}/, 'an app frame with its source')
  t.notMatch(page, /after —/)

  const many = errorChain(withFrames(Array.from({ length: 50 }, (_, i) => `    at f${i} (/x.js:${i + 1}:1)`)), APP_FILES)
  t.equal(many[0].frames.length, 30, 'at most 30 frames')
  const long = errorChain(withFrames([`    at f (/${'a'.repeat(5000)}.js:1:1)`, '    at g (/x.js:1:1)']), APP_FILES)
  t.same(long[0].frames, [], 'a stack line of kilobytes is no frame V8 printed: the frames end there')
})

t.test('the stack\'s header is the error\'s name and message, however it is made', async (t) => {
  const nameless = new Error('only a message')
  nameless.name = ''
  nameless.stack = 'only a message\n    at f (/x.js:1:1)'
  t.match(errorChain(nameless, APP_FILES), [{ unparsed: false, frames: [{ fn: 'f' }] }], 'an empty name: the message alone')
  const messageless = new Error()
  t.match(errorChain(messageless, APP_FILES), [{ unparsed: false, frames: [{ file: THIS_FILE, app: true }] }], 'an empty message: the name alone')
  let nodeError: unknown
  try {
    readFileSync({} as never)
  } catch (error) {
    nodeError = error
  }
  t.match((nodeError as Error).stack, /^TypeError \[ERR_INVALID_ARG_TYPE\]: /, 'Node puts the code in the header')
  t.match(errorChain(nodeError, APP_FILES), [{ code: 'ERR_INVALID_ARG_TYPE', unparsed: false, frames: [{ app: false }] }])
  t.match(errorChain(withFrames([]), APP_FILES), [{ unparsed: false, frames: [] }], 'a header and no frame')
  const unnamed = new Error('x')
  unnamed.name = undefined as never
  t.match(unnamed.stack, /^Error: x\n/, 'V8: an undefined name reads as Error')
  t.match(errorChain(unnamed, APP_FILES), [{ unparsed: false, frames: [{ file: THIS_FILE }] }])
  const unsaid = new Error('x')
  Object.defineProperty(unsaid, 'message', { value: undefined })
  t.match(unsaid.stack, /^Error\n/, 'V8: an undefined message reads as empty')
  t.match(errorChain(unsaid, APP_FILES), [{ unparsed: false, frames: [{ file: THIS_FILE }] }])
  const multiline = withFrames([`    at real (${THIS_FILE}:1:1)`], 'line one\n    at forged (/etc/passwd:1:1)\nline three')
  t.match(errorChain(multiline, APP_FILES), [{ unparsed: false, frames: [{ fn: 'real' }] }], 'a header of many lines')
  t.equal(errorChain(multiline, APP_FILES)[0].frames.length, 1)
})

t.test('a stack that does not begin with the error\'s header is shown as text, and no file is read for it', async (t) => {
  const changed = new Error('the original message')
  t.match(changed.stack, /^Error: the original message\n/, 'the stack is made on first read')
  changed.message = `x\n    at forged (${THIS_FILE}:1:1)`
  const app = await throwing(t, changed)
  t.match((await app.inject({ url: '/', headers: API })).json().debug.errors[0], { frames: [] })
  const page = (await app.inject({ url: '/', headers: BROWSER })).body
  t.match(page, /<p class="note">This stack does not begin with the error's name and message/)
  t.match(page, /<pre><span>Error: the original message\n {4}at /, 'the stack as it is')
  t.notMatch(page, /\/\*\*/, 'no line of this file')
  const replaced = new Error('m')
  replaced.stack = `m\n${'x'.repeat(20_000)}`
  const cut = debugPage({ status: 500, name: 'Internal Server Error', requestId: 'r', errors: errorChain(replaced, APP_FILES), request: { method: 'GET', url: '/', headers: {} }, sourceCut: false })
  t.match(cut, /x{16382}…\[3618 more characters\]<\/span><\/pre>/, 'cut at 16 KiB, with how much was left out')
})

t.test('source excerpts: ±3 lines, long lines cut, lines out of range, big, missing and non-files; each file read once, 64 kept', async (t) => {
  const long = 'a'.repeat(300)
  const dir = t.testdir({
    'small.js': 'one\ntwo\r\nthree\nfour\nfive\nsix\nseven\neight',
    'long.js': `${long}\n${'b'.repeat(239)}\u{1F600}${'c'.repeat(10)}`,
    'huge.js': 'x'.repeat(1024 * 1024 + 1),
    'dir.js': {},
    '.env': 'SECRET=1',
    'notes.txt': 'not a script'
  })
  t.ok(dir.startsWith(process.cwd()), 'the fixtures are inside the app\'s root')
  const files = new SourceFiles(process.cwd())
  const small = join(dir, 'small.js')
  t.same(files.excerpt(small, 5), [
    { number: 2, text: 'two', current: false },
    { number: 3, text: 'three', current: false },
    { number: 4, text: 'four', current: false },
    { number: 5, text: 'five', current: true },
    { number: 6, text: 'six', current: false },
    { number: 7, text: 'seven', current: false },
    { number: 8, text: 'eight', current: false }
  ])
  t.same(files.excerpt(join(dir, 'long.js'), 1)?.map((l) => l.text), [
    `${'a'.repeat(240)}…[60 more characters]`,
    `${'b'.repeat(239)}…[12 more characters]`
  ], 'long lines are cut, never inside a surrogate pair')
  t.equal(files.excerpt(small, 0), undefined)
  t.equal(files.excerpt(small, 99), undefined)
  t.equal(files.excerpt(join(dir, 'huge.js'), 1), undefined, 'files over 1 MiB are not read')
  t.equal(files.excerpt(join(dir, 'missing.js'), 1), undefined)
  t.equal(files.excerpt(join(dir, 'dir.js'), 1), undefined, 'a directory')
  t.equal(files.excerpt(join(dir, '.env'), 1), undefined, 'not a script')
  t.equal(files.excerpt(join(dir, 'notes.txt'), 1), undefined, 'not a script')

  const cache = new SourceFiles(process.cwd())
  t.equal(cache.excerpt(small, 5)?.[3].text, 'five')
  writeFileSync(small, 'changed')
  t.equal(cache.excerpt(small, 5)?.[3].text, 'five', 'read once: later reads come from memory')
  t.same(new SourceFiles(process.cwd()).excerpt(small, 1), [{ number: 1, text: 'changed', current: true }], 'each app has its own files')
  for (let i = 0; i < 64; i++) writeFileSync(join(dir, `f${i}.js`), `file ${i}`)
  for (let i = 0; i < 63; i++) cache.excerpt(join(dir, `f${i}.js`), 1)
  t.equal(cache.excerpt(small, 5)?.[3].text, 'five', 'still kept with 64 files read')
  cache.excerpt(join(dir, 'f63.js'), 1)
  t.same(cache.excerpt(small, 1), [{ number: 1, text: 'changed', current: true }], 'past 64 files the oldest is dropped, and read again')
})

t.test('only the app\'s own files: inside its root, not node_modules, links resolved', async (t) => {
  const dir = t.testdir({ 'real.js': 'inside', node_modules: { 'lib.js': 'a dependency' }, '.env': 'SECRET=hunter2' })
  symlinkSync('/etc/passwd', join(dir, 'passwd.js'))
  symlinkSync(join(dir, '.env'), join(dir, 'env.js'))
  mkdirSync(join(dir, 'linked'))
  symlinkSync(join(dir, 'real.js'), join(dir, 'linked', 'again.js'))
  const files = new SourceFiles(process.cwd())
  t.equal(files.isApp('/etc/passwd'), false, 'outside the root')
  t.equal(files.excerpt('/etc/passwd', 1), undefined)
  t.equal(files.isApp(join(dir, 'node_modules', 'lib.js')), false, 'a dependency')
  t.equal(files.isApp('node:internal/x'), false)
  t.equal(files.isApp(join(dir, 'passwd.js')), true, 'a link inside the root is named like the app\'s…')
  t.equal(files.excerpt(join(dir, 'passwd.js'), 1), undefined, '…but it leads out of the root: not read')
  t.equal(files.excerpt(join(dir, 'env.js'), 1), undefined, 'a link to a file that is not a script: not read')
  t.same(files.excerpt(join(dir, 'linked', 'again.js'), 1), [{ number: 1, text: 'inside', current: true }], 'a link to a script of the app is read')
  const everything = new SourceFiles('/')
  t.equal(everything.root, undefined, 'the file system\'s root is no app root')
  t.equal(everything.isApp(THIS_FILE), false, 'started from /, no file counts as the app\'s')
})

t.test('started from the file system\'s root, the debug page reads no file', async (t) => {
  const cwd = process.cwd()
  process.chdir('/')
  t.teardown(() => { process.chdir(cwd) })
  const app = await throwing(t, new Error('from /'))
  process.chdir(cwd)
  const res = await app.inject({ url: '/', headers: BROWSER })
  t.match(res.body, /debug\.test\.ts:\d+:\d+/, 'the frames are shown')
  t.notMatch(res.body, /<pre>/, 'without source')
})

t.test('a page shows at most 64 K characters of source, then says so', async (t) => {
  const dir = t.testdir({ 'wide.js': Array.from({ length: 20 }, () => 'w'.repeat(300)).join('\n') })
  const wide = join(dir, 'wide.js')
  let error: Error | undefined
  for (let i = 0; i < 8; i++) {
    const next = withFrames(Array.from({ length: 30 }, () => `    at f (${wide}:10:1)`), `level ${i}`)
    if (error !== undefined) next.cause = error
    error = next
  }
  const app = await throwing(t, error)
  const page = (await app.inject({ url: '/', headers: BROWSER })).body
  t.match(page, /Source lines of further frames are left out: a debug page shows at most 64 K characters of source\./)
  const shown = page.match(/w{240}/g) ?? []
  t.ok(shown.length > 0 && shown.length * 240 <= 64 * 1024, `${shown.length} lines shown, within the budget`)
  t.ok(Buffer.byteLength(page) < 64 * 1024 + 128 * 1024, `${Buffer.byteLength(page)} bytes`)
  const normal = await throwing(t, new Error('small'))
  t.notMatch((await normal.inject({ url: '/', headers: BROWSER })).body, /<p class="note">Source lines/)
})

t.test('each registration that turns debug mode on says so in the log, as Flask\'s "Debugger is active!"', async (t) => {
  const { app, logs } = await build({ debug: true })
  await app.register(async (admin) => {
    await admin.register(flaskErrors, { debug: true })
  }, { prefix: '/admin' })
  await app.register(async (quiet) => {
    await quiet.register(flaskErrors, { debug: false, format: 'json' })
  }, { prefix: '/quiet' })
  await app.register(async (inherits) => {
    await inherits.register(flaskErrors, { format: 'json' })
  }, { prefix: '/inherits' })
  await app.ready()
  const warnings = logs.filter((line) => line.level === LEVEL.warn && /Debugger is active!/.test(line.msg))
  t.equal(warnings.length, 2, 'one per registration that turns it on')
  t.match(warnings[0].msg, /debug mode is on for the whole app: 5xx responses show the error, its stack with the source lines of the app's files, and the request\. Never run it where the public can reach the server\./)
  t.match(warnings[1].msg, /debug mode is on for "\/admin"/)
  const { app: off, logs: quiet } = await build()
  await off.ready()
  t.notOk(quiet.some((line) => /Debugger is active/.test(line.msg)), 'not when it is off')
})

t.test('errorChain: unwraps 500s, follows causes, stops at cycles and depth, reads hostile values safely', async (t) => {
  const root = new Error('root')
  const wrapped = new InternalServerError(undefined, { originalError: root })
  t.match(errorChain(wrapped, APP_FILES), [{ relation: 'error', type: 'Error', message: 'root' }])
  t.equal(errorChain(wrapped, APP_FILES).length, 1)
  t.match(errorChain(new InternalServerError(), APP_FILES), [{ type: 'InternalServerError', message: 'Something went wrong on our side.' }], 'a bare 500 is itself')

  const a = new Error('a')
  const b = new Error('b', { cause: a })
  ;(a as { cause?: unknown }).cause = b
  t.equal(errorChain(b, APP_FILES).length, 2, 'a cycle is cut at the first repeat')

  let deep: unknown = new Error('bottom')
  for (let i = 0; i < 20; i++) deep = new Error(`level ${i}`, { cause: deep })
  t.equal(errorChain(deep, APP_FILES).length, 8, 'at most 8 errors')

  t.match(errorChain(new Error('top', { cause: 'a string cause' }), APP_FILES), [{ type: 'Error' }, { relation: 'cause', type: 'string', message: '"a string cause"', frames: [] }])
  t.match(errorChain(new Error('top', { cause: null }), APP_FILES), [{}, { type: 'null', message: 'null' }])

  const getter = new Error('getter')
  Object.defineProperty(getter, 'cause', { get () { throw new Error('no cause for you') } })
  t.equal(errorChain(getter, APP_FILES).length, 1, 'a throwing cause getter ends the chain')

  const hostile = new Error('hostile')
  Object.defineProperty(hostile, 'message', { get () { throw new Error('no message') } })
  t.match(errorChain(hostile, APP_FILES), [{ type: 'object', message: 'Error object' }], 'unreadable errors are described, not read')

  const noStack = new Error('no stack')
  noStack.stack = undefined
  t.match(errorChain(noStack, APP_FILES), [{ stack: '', frames: [] }])
  const Anonymous = class extends Error {}
  Object.defineProperty(Anonymous, 'name', { value: '' })
  const anonymous = new Anonymous('anon')
  anonymous.name = 'CustomName'
  t.match(errorChain(anonymous, APP_FILES), [{ type: 'CustomName' }], 'an anonymous class: the error\'s name')
  t.match(errorChain(Object.assign(new Error('coded'), { code: 'ECONNREFUSED' }), APP_FILES), [{ code: 'ECONNREFUSED' }])
  t.match(errorChain(Object.assign(new Error('numeric code'), { code: 42 }), APP_FILES), [{ code: undefined }])

  const failure = new Error('handler failed')
  const original = new Error('original')
  t.match(errorChain(new InternalServerError(undefined, { originalError: failure, cause: original }), APP_FILES), [
    { relation: 'error', message: 'handler failed' },
    { relation: 'while handling', message: 'original' }
  ])
})

t.test('the request summary joins repeated headers', async (t) => {
  const view = errorView(500, readThrown(new Error('x')), new Error('x'), 'req-9', '/p')
  const request = { method: 'POST', url: '/p', headers: { 'x-list': ['a', 'b'], cookie: 'k=v' } }
  const report = debugReport(new Error('x'), view, request as never, createRedaction(), APP_FILES)
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
  const busy = new ServiceUnavailable()
  busy.stack = `Service Unavailable: ${busy.message}\n    at lib (node:internal/x:1:1)`
  const one = debugPage({ status: 503, name: 'Service Unavailable', requestId: 'r', errors: errorChain(busy, APP_FILES), request: { method: 'GET', url: '/', headers: {} }, sourceCut: false })
  t.match(one, /<summary>1 frame in Node, node_modules and outside the app<\/summary>/)
  const coded = Object.assign(new Error('refused'), { code: 'ECONNREFUSED', stack: 'Error: refused\n    at /srv/app.js:1:1' })
  const page = debugPage({ status: 500, name: 'Internal Server Error', requestId: 'r', errors: errorChain(coded, APP_FILES), request: { method: 'GET', url: '/', headers: {} }, sourceCut: false })
  t.match(page, /Error: refused <small>\(ECONNREFUSED\)<\/small>/)
  t.match(page, /<div class="loc lib">\/srv\/app\.js:1:1<\/div>/, 'an anonymous frame outside the app: the location only')
})
