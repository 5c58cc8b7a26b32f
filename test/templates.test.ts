/**
 * lib/templates.ts: error page templates by convention with @fastify/view + ejs — the lookup chain,
 * per-context folders, what a template receives, failing templates (missing, throwing, slow, not a
 * string), startup errors, escaping, and the preview route. Through fastify.inject, real templates
 * written to a temporary folder.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import view from '@fastify/view'
import ejs from 'ejs'
import { rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import flaskErrors, { FFE_INVALID_OPTION, FFE_TEMPLATES_NOT_FOUND, NotFound, abort } from '../index.js'
import type { FlaskErrorsOptions } from '../index.js'
import { Templates, templateFor } from '../lib/templates.js'
import type { TemplateContext } from '../lib/templates.js'
import type { FastifyReply } from 'fastify'
import { normalizeOptions } from '../lib/options.js'
import { buildApp } from '../examples/app.js'
import { build, API, BROWSER, LEVEL } from './helpers.js'
import type { LogLine } from './helpers.js'

type Files = Record<string, string | Record<string, string | Record<string, string>>>

/** The preview path that one registration's options give (lib/options.ts reads it with the other options). */
function previewOption (options: Record<string, unknown>, log: FastifyInstance['log'], env: NodeJS.ProcessEnv = process.env): string | undefined {
  return normalizeOptions(options, { first: true, log, env }).preview
}

/** An app with the plugin, then @fastify/view over `files` written to a fresh folder. */
async function withViews (t: Test, files: Files, options: FlaskErrorsOptions = {}, viewOptions: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, logs: LogLine[], root: string }> {
  const root = t.testdir(files)
  const { app, logs } = await build(options)
  await app.register(view, { engine: { ejs }, root, ...viewOptions })
  t.teardown(() => app.close())
  return { app, logs, root }
}

const html = async (app: FastifyInstance, url: string): Promise<{ status: number, body: string, headers: Record<string, unknown> }> => {
  const res = await app.inject({ url, headers: BROWSER })
  return { status: res.statusCode, body: res.body, headers: res.headers }
}

const BUILT_IN = /<p class="status">/

/** `app.ready()` as a plain promise (for t.rejects). */
async function ready (app: { ready: () => PromiseLike<unknown> }): Promise<void> {
  await app.ready()
}

t.test('the lookup chain: exact, then the series, then errors/error, then the built-in page', async (t) => {
  const { app } = await withViews(t, {
    errors: { '404.ejs': 'exact 404', '4xx.ejs': 'series <%= status %>', 'error.ejs': 'generic <%= status %>' }
  })
  app.get('/:status', (request) => abort(Number((request.params as { status: string }).status)))
  t.equal((await html(app, '/404')).body, 'exact 404')
  t.equal((await html(app, '/410')).body, 'series 410')
  t.equal((await html(app, '/503')).body, 'generic 503', 'no 5xx template: the generic one')
  const { app: other } = await withViews(t, { errors: { '5xx.ejs': 'server <%= status %>' } })
  other.get('/:status', (request) => abort(Number((request.params as { status: string }).status)))
  t.equal((await html(other, '/502')).body, 'server 502')
  const builtIn = await html(other, '/418')
  t.equal(builtIn.status, 418)
  t.match(builtIn.body, BUILT_IN, 'no 4xx, exact or generic template: the built-in page')

  t.equal(templateFor({ exact: new Map([[404, 'e/404.ejs']]), client: 'e/4xx.ejs', server: undefined, generic: undefined }, 404), 'e/404.ejs')
  t.equal(templateFor({ exact: new Map(), client: undefined, server: 'e/5xx.ejs', generic: 'e/error.ejs' }, 404), 'e/error.ejs')
  t.equal(templateFor({ exact: new Map(), client: undefined, server: undefined, generic: undefined }, 500), undefined)
})

t.test('only files with the engine\'s extension and status names count; symlinks do', async (t) => {
  const { app, root } = await withViews(t, {
    errors: { '404.html': 'wrong extension', '4xx.ejs': 'series', 'partial.ejs': 'not a status', '41.ejs': 'not a status', '410.ejs': { 'x.ejs': 'a folder' }, 'target.txt': 'linked 409' }
  })
  symlinkSync(join(root, 'errors', 'target.txt'), join(root, 'errors', '409.ejs'))
  app.get('/:status', (request) => abort(Number((request.params as { status: string }).status)))
  t.equal((await html(app, '/404')).body, 'series', 'a 404.html is not an ejs template')
  t.equal((await html(app, '/410')).body, 'series', 'a folder named 410.ejs is not a template')
  t.equal((await html(app, '/409')).body, 'linked 409')
})

t.test('which templates exist is found once, at startup, not per request', async (t) => {
  const { app, root } = await withViews(t, { errors: { '4xx.ejs': 'series' } })
  app.get('/410', () => abort(410))
  await app.ready()
  writeFileSync(join(root, 'errors', '410.ejs'), 'added after startup')
  t.equal((await html(app, '/410')).body, 'series', 'a template added after startup is not looked for')
})

t.test('what a template receives: the error facts, defaultContext, reply.locals; layouts work', async (t) => {
  const { app } = await withViews(t, {
    'layout.ejs': '<main class="layout"><%- body %></main><footer><%= site %></footer>',
    errors: {
      '404.ejs': [
        '<h1><%= status %> <%= name %></h1><p><%= description %></p><p><%= path %></p>',
        '<p><%= requestId %></p><p>debug=<%= debug %></p><p><%= error.constructor.name %></p>',
        '<p><%= site %>/<%= user %></p>'
      ].join('')
    }
  }, {}, { defaultContext: { site: 'Example', user: 'nobody' }, layout: 'layout.ejs' })
  app.addHook('preHandler', async (request, reply) => { (reply as unknown as { locals: Record<string, unknown> }).locals.user = 'alice' })
  app.get('/cheese', () => abort(404, 'Resource not found'))
  const res = await app.inject({ url: '/cheese?x=1', headers: BROWSER })
  t.equal(res.statusCode, 404)
  t.equal(res.body, '<main class="layout"><h1>404 Not Found</h1><p>Resource not found</p><p>/cheese</p>' +
    `<p>${res.headers['x-request-id'] as string ?? 'req-1'}</p><p>debug=false</p><p>NotFound</p><p>Example/alice</p></main><footer>Example</footer>`)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['content-security-policy'], undefined, 'a template page is the app\'s own: no CSP imposed on it')
  t.equal(res.headers.vary, 'Accept')
})

t.test('ejs includes work (a layout as partials, as in the Flask docs\' {% extends %})', async (t) => {
  const { app } = await withViews(t, {
    partials: { 'head.ejs': '<title><%= title %></title>' },
    errors: { '500.ejs': '<%- include("../partials/head", { title: "Oops " + status }) %><p><%= description %></p>' }
  })
  app.get('/crash', () => { throw new Error('database password rejected') })
  const res = await html(app, '/crash')
  t.equal(res.status, 500)
  t.equal(res.body, '<title>Oops 500</title><p>Something went wrong on our side.</p>', '5xx internals stay hidden in templates too')
})

t.test('JSON clients are not given templates', async (t) => {
  const { app } = await withViews(t, { errors: { '404.ejs': 'page' } })
  app.get('/', () => abort(404, 'nope'))
  const res = await app.inject({ url: '/', headers: API })
  t.equal(res.statusCode, 404)
  t.equal(res.json().message, 'nope')
})

t.test('hostile descriptions and paths are escaped, in templates and in the built-in page', async (t) => {
  const { app } = await withViews(t, { errors: { '404.ejs': '<p><%= description %></p><p><%= path %></p>' } })
  app.get('/x', () => abort(404, '<img src=x onerror=alert(1)>"\'&'))
  app.get('/y', () => abort(410, '<script>alert(1)</script>'))
  const templated = await html(app, '/x')
  t.equal(templated.body, '<p>&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;</p><p>/x</p>')
  const path = await app.inject({ url: "/nowhere/'onmouseover='alert(1)'&<b>", headers: BROWSER })
  t.equal(path.statusCode, 404)
  t.notMatch(path.body, /'onmouseover='|<b>/)
  t.match(path.body, /&#39;onmouseover=&#39;alert\(1\)&#39;&amp;/)
  const builtIn = await html(app, '/y')
  t.match(builtIn.body, BUILT_IN)
  t.notMatch(builtIn.body, /<script>/)
  t.match(builtIn.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
  t.match(builtIn.headers['content-security-policy'], /default-src 'none'/)
  t.equal(builtIn.headers['x-content-type-options'], 'nosniff')
})

t.test('per-context folders: a child context has its own, or none', async (t) => {
  const { app } = await withViews(t, {
    errors: { '404.ejs': 'site 404', '500.ejs': 'site 500' },
    blog: { errors: { '404.ejs': 'blog 404 at <%= path %>' } }
  })
  app.get('/x', () => abort(404))
  await app.register(async (blog) => {
    await blog.register(flaskErrors, { templates: 'blog/errors' })
    // A 404 handler in a prefixed context claims its unknown URLs; returning the exception renders
    // the default response, here the blog's template.
    blog.errorhandler(404)((error) => error)
    blog.get('/post', () => abort(404))
    blog.get('/crash', () => { throw new Error('boom') })
  }, { prefix: '/blog' })
  await app.register(async (plain) => {
    await plain.register(flaskErrors, { templates: false })
    plain.get('/x', () => abort(404))
  }, { prefix: '/plain' })
  t.equal((await html(app, '/x')).body, 'site 404')
  t.equal((await html(app, '/blog/post')).body, 'blog 404 at /blog/post')
  t.equal((await html(app, '/blog/no-such-post')).body, 'blog 404 at /blog/no-such-post', 'routing 404s under the prefix too')
  t.match((await html(app, '/blog/crash')).body, BUILT_IN, 'the blog folder has no 500 and does not fall back to the site\'s')
  t.match((await html(app, '/plain/x')).body, BUILT_IN, 'templates: false turns them off in that context')
  t.equal((await html(app, '/elsewhere')).body, 'site 404')
})

t.test('a view plugin registered in a child context serves that context only', async (t) => {
  const root = t.testdir({ errors: { '404.ejs': 'child template' } })
  const { app } = await build()
  t.teardown(() => app.close())
  await app.register(async (child) => {
    await child.register(view, { engine: { ejs }, root })
    child.get('/x', () => abort(404))
  }, { prefix: '/child' })
  app.get('/x', () => abort(404))
  t.equal((await html(app, '/child/x')).body, 'child template')
  t.match((await html(app, '/x')).body, BUILT_IN)
})

t.test('a template that throws: the built-in page, and the failure logged with the original error', async (t) => {
  const { app, logs } = await withViews(t, { errors: { '404.ejs': '<%= missing.field %>' } })
  app.get('/', () => abort(404, 'the original'))
  const res = await html(app, '/')
  t.equal(res.status, 404)
  t.match(res.body, BUILT_IN)
  t.match(res.body, /the original/)
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  const failure = logs.find((line) => line.level === LEVEL.error && /template errors\/404\.ejs failed/.test(line.msg))
  t.ok(failure, 'the template failure is logged')
  t.match(failure?.err?.message, /missing is not defined/)
  t.match((failure?.originalError as { message?: string }).message, 'the original')
  t.equal(failure?.reqId, 'req-1')
})

t.test('a template deleted after startup: the built-in page', async (t) => {
  const { app, logs, root } = await withViews(t, { errors: { '404.ejs': 'here' } })
  app.get('/', () => abort(404))
  await app.ready()
  rmSync(join(root, 'errors', '404.ejs'))
  const res = await html(app, '/')
  t.equal(res.status, 404)
  t.match(res.body, BUILT_IN)
  t.ok(logs.some((line) => line.level === LEVEL.error && /ENOENT/.test(String(line.err?.message))))
})

t.test('a template that never finishes is cut off at templateTimeout: the built-in page', async (t) => {
  const { app, logs } = await withViews(t, {
    errors: { '404.ejs': '<% await new Promise(() => {}) %>never' }
  }, { templateTimeout: 150 }, { options: { async: true } })
  app.get('/', () => abort(404))
  const started = Date.now()
  const res = await html(app, '/')
  const elapsed = Date.now() - started
  t.equal(res.status, 404)
  t.match(res.body, BUILT_IN)
  t.ok(elapsed >= 140 && elapsed < 2000, `answered after the limit (${elapsed} ms)`)
  t.ok(logs.some((line) => /did not render within 150 ms/.test(String(line.err?.message))))
})

t.test('templateTimeout: an integer number of ms, refused otherwise', async (t) => {
  for (const bad of [0, -1, 1.5, '100', 2 ** 31]) {
    await t.rejects(build({ templateTimeout: bad as number }), { code: 'FFE_INVALID_OPTION', message: /templateTimeout/ }, String(bad))
  }
})

t.test('a render tells its caller exactly once, whatever the view function does', async (t) => {
  // An app whose templates may take 40 ms.
  const templates = new Templates(40)
  const context: TemplateContext = { error: null, status: 404, name: 'Not Found', description: 'd', path: '/', requestId: 'r', traceId: undefined, debug: false }
  const replyWith = (viewAsync: unknown): FastifyReply => ({ viewAsync }) as unknown as FastifyReply
  const calls = (reply: FastifyReply): Promise<Array<[string | undefined, unknown]>> => new Promise((resolve) => {
    const seen: Array<[string | undefined, unknown]> = []
    templates.render(reply, 'errors/404.ejs', context, (html, failure) => { seen.push([html, failure]) })
    // Long enough for a cut-off render (the limit is 40 ms) to have been told twice, if it were.
    setTimeout(() => { resolve(seen) }, 150)
  })
  const thrown = new Error('sync throw')
  t.same(await calls(replyWith(() => { throw thrown })), [[undefined, thrown]], 'a view function that throws before returning a promise')
  t.same(await calls(replyWith(() => 'plain string')), [['plain string', undefined]], 'a view function that returns the HTML itself')
  t.same(await calls(replyWith(async () => '<p>ok</p>')), [['<p>ok</p>', undefined]])
  const [[none, notString]] = await calls(replyWith(async () => 42))
  t.equal(none, undefined)
  t.match((notString as Error).message, 'rendered number, not a string')
  const late = await calls(replyWith(() => new Promise((resolve) => setTimeout(() => { resolve('too late') }, 80))))
  t.equal(late.length, 1, 'a render cut off at the limit is not reported again when it finishes')
  t.equal(late[0][0], undefined)
  t.match((late[0][1] as Error).message, 'did not render within 40 ms')
  const [[missing, why]] = await calls(replyWith(undefined))
  t.equal(missing, undefined)
  t.match((why as Error).message, 'reply.viewAsync is not a function')
})

t.test('a render started while a late one is cut off (the 500 page for it) is watched too', async (t) => {
  const templates = new Templates(40)
  const context: TemplateContext = { error: null, status: 500, name: 'Internal Server Error', description: 'd', path: '/', requestId: 'r', traceId: undefined, debug: false }
  const never = ({ viewAsync: () => new Promise(() => {}) }) as unknown as FastifyReply
  // Unwatched, the second render would never be told, and this test would time out.
  const told = await new Promise<unknown[]>((resolve) => {
    templates.render(never, 'errors/404.ejs', context, (html, failure) => {
      templates.render(never, 'errors/500.ejs', context, (again, failureAgain) => { resolve([failure, failureAgain]) })
    })
  })
  t.match(told, [{ message: 'template errors/404.ejs did not render within 40 ms' }, { message: 'template errors/500.ejs did not render within 40 ms' }])
})

t.test('a template still rendering when Fastify\'s handlerTimeout fails the request: one response, the late render dropped', async (t) => {
  const root = t.testdir({
    errors: {
      '404.ejs': '<% await new Promise((resolve) => setTimeout(resolve, 300)) %>late page',
      '410.ejs': '<% await new Promise((resolve) => setTimeout(resolve, 300)); throw new Error("late failure") %>'
    }
  })
  const { app, logs } = await build({}, { handlerTimeout: 50 })
  await app.register(view, { engine: { ejs }, root, options: { async: true } })
  t.teardown(() => app.close())
  app.get('/404', () => abort(404))
  app.get('/410', () => abort(410))
  const until = async (pattern: RegExp): Promise<LogLine | undefined> => {
    for (let waited = 0; waited < 3000; waited += 20) {
      const line = logs.find((l) => pattern.test(l.msg))
      if (line !== undefined) return line
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return undefined
  }
  const res = await html(app, '/404')
  t.equal(res.status, 500, 'the handlerTimeout failure answers')
  t.match(res.body, BUILT_IN)
  const dropped = await until(/error page template errors\/404\.ejs finished after the request had moved on; it was not sent/)
  t.equal(dropped?.level, LEVEL.warn)
  const failed = await html(app, '/410')
  t.equal(failed.status, 500)
  const late = await until(/error page template errors\/410\.ejs failed after the request had moved on/)
  t.equal(late?.level, LEVEL.error)
  t.match(late?.err?.message, /late failure/)
  t.notOk(logs.some((l) => /already sent/i.test(l.msg)), 'no second response was attempted')
})

t.test('an async template that finishes in time is used', async (t) => {
  const { app } = await withViews(t, {
    errors: { '404.ejs': '<% await new Promise((resolve) => setTimeout(resolve, 5)) %>async <%= status %>' }
  }, {}, { options: { async: true } })
  app.get('/', () => abort(404))
  t.equal((await html(app, '/')).body, 'async 404')
})

t.test('a render that gives something other than a string: the built-in page', async (t) => {
  const { app, logs } = await withViews(t, { errors: { '404.ejs': 'page' } }, {}, { options: { useHtmlMinifier: { minify: () => 42 } } })
  const { app: nulls, logs: nullLogs } = await withViews(t, { errors: { '404.ejs': 'page' } }, {}, { options: { useHtmlMinifier: { minify: () => null } } })
  for (const each of [app, nulls]) {
    each.get('/', () => abort(404))
    t.match((await html(each, '/')).body, BUILT_IN)
  }
  t.ok(logs.some((line) => /rendered number, not a string/.test(String(line.err?.message))))
  t.ok(nullLogs.some((line) => /rendered null, not a string/.test(String(line.err?.message))))
})

t.test('@fastify/view with another asyncPropertyName: no reply.viewAsync, the built-in page', async (t) => {
  const { app, logs } = await withViews(t, { errors: { '404.ejs': 'page' } }, {}, { asyncPropertyName: 'renderAsync' })
  app.get('/', () => abort(404))
  t.match((await html(app, '/')).body, BUILT_IN)
  t.ok(logs.some((line) => /reply\.viewAsync is not a function/.test(String(line.err?.message))))
})

t.test('the last-resort 500 never tries a template', async (t) => {
  const { app } = await withViews(t, { errors: { '500.ejs': 'template 500', '404.ejs': 'template 404' } })
  app.errorhandler(404)(() => { throw new Error('404 handler broke') })
  app.errorhandler(500)(() => { throw new Error('500 handler broke too') })
  app.errorhandler(410)(() => { throw new Error('410 handler broke') })
  app.get('/404', () => abort(404))
  const res = await html(app, '/404')
  t.equal(res.status, 500)
  t.match(res.body, BUILT_IN, 'two failures: the built-in page')
  const { app: once } = await withViews(t, { errors: { '500.ejs': 'template 500' } })
  once.errorhandler(404)(() => { throw new Error('404 handler broke') })
  once.get('/404', () => abort(404))
  t.equal((await html(once, '/404')).body, 'template 500', 'one failure and no 500 handler: the 500 template')
})

t.test('a handler that returns the exception gets the template (Flask\'s pass-through)', async (t) => {
  const { app } = await withViews(t, { errors: { '4xx.ejs': '<%= status %>: <%= description %>' } })
  app.errorhandler(NotFound)((error) => error)
  app.get('/', () => abort(404, 'passed through'))
  t.equal((await html(app, '/')).body, '404: passed through')
})

t.test('startup: a folder the app named must exist and be renderable', async (t) => {
  t.test('a named folder that does not exist', async (t) => {
    const { app } = await withViews(t, { errors: {} }, { templates: 'pages/errors' })
    await t.rejects(ready(app), { code: 'FFE_TEMPLATES_NOT_FOUND', message: /templates: "pages\/errors" is set for the root context, but the folder "pages\/errors" cannot be read under the view root .*ENOENT/ })
  })
  t.test('a named folder in a child context', async (t) => {
    const { app } = await withViews(t, { errors: {} })
    await app.register(async (blog) => {
      await blog.register(flaskErrors, { templates: 'blog' })
      blog.get('/x', () => abort(404))
    }, { prefix: '/blog' })
    await t.rejects(ready(app), new FFE_TEMPLATES_NOT_FOUND('x').constructor)
    await t.rejects(ready(app), { message: /the context with prefix "\/blog"/ })
  })
  t.test('a named folder without @fastify/view', async (t) => {
    const { app } = await build({ templates: 'errors' })
    await t.rejects(ready(app), { code: 'FFE_TEMPLATES_NOT_FOUND', message: /@fastify\/view is not registered there/ })
  })
  t.test('a named folder with @fastify/view in a child context only', async (t) => {
    const root = t.testdir({ errors: { '404.ejs': 'child' } })
    const { app } = await build({ templates: 'errors' })
    await app.register(async (child) => {
      await child.register(view, { engine: { ejs }, root })
      child.get('/x', () => abort(404))
    }, { prefix: '/child' })
    await app.ready()
    t.equal((await html(app, '/child/x')).body, 'child', 'served where the view plugin is')
    await app.close()
  })
  t.test('templates: false needs nothing', async (t) => {
    const { app } = await build({ templates: false })
    await app.ready()
    t.pass('no view plugin, no error')
    await app.close()
  })
  t.test('the default folder is optional', async (t) => {
    const { app } = await withViews(t, { 'home.ejs': 'not an error page' })
    app.get('/', () => abort(404))
    t.match((await html(app, '/')).body, BUILT_IN)
  })
})

t.test('another plugin\'s `view` decorator: the root cannot be found', async (t) => {
  const fakes: Record<string, () => Promise<unknown>> = {
    'renders anything': async () => 'a page',
    'rejects with null': async () => { throw null }, // eslint-disable-line no-throw-literal
    'rejects ENOENT without a path': async () => { throw Object.assign(new Error('gone'), { code: 'ENOENT' }) },
    'rejects ENOENT elsewhere': async () => { throw Object.assign(new Error('gone'), { code: 'ENOENT', path: '/somewhere/else.njk' }) },
    'rejects another error': async () => { throw new Error('engine not configured') }
  }
  for (const [name, fake] of Object.entries(fakes)) {
    t.test(name, async (t) => {
      const { app, logs } = await build()
      app.decorate('view', fake as never)
      app.get('/', () => abort(404))
      t.match((await html(app, '/')).body, BUILT_IN)
      t.ok(logs.some((line) => line.level === LEVEL.warn && /templates are off in the root context: the view root of @fastify\/view could not be found/.test(line.msg)))
      const named = await build({ templates: 'errors' })
      named.app.decorate('view', fake as never)
      await t.rejects(ready(named.app), { code: 'FFE_TEMPLATES_NOT_FOUND', message: /could not be found/ })
      await app.close()
    })
  }
})

t.test('the templates option is validated at registration', async (t) => {
  for (const bad of ['', '  ', '.', './', '/abs/errors', 'C:\\errors', '../errors', 'a/../../b', ' errors', 5, true, null]) {
    await t.rejects(build({ templates: bad as string }), FFE_INVALID_OPTION, `rejects ${JSON.stringify(bad)}`)
  }
  const { app } = await withViews(t, { pages: { errors: { '404.ejs': 'normalised' } } }, { templates: './pages//errors/' })
  app.get('/', () => abort(404))
  t.equal((await html(app, '/')).body, 'normalised')
})

t.test('preview: /_errors/<status> answers what that status answers in the context', async (t) => {
  const { app } = await withViews(t, {
    errors: { '410.ejs': 'designed 410 for <%= path %>', '4xx.ejs': 'series <%= status %>' },
    blog: { '404.ejs': 'blog 404' }
  }, { preview: '/_errors' })
  app.errorhandler(418)(() => ['teapot handler', 418])
  await app.register(async (blog) => {
    await blog.register(flaskErrors, { templates: 'blog', preview: '/_errors' })
  }, { prefix: '/blog' })
  const gone = await html(app, '/_errors/410')
  t.equal(gone.status, 410)
  t.equal(gone.body, 'designed 410 for /_errors/410')
  t.equal((await html(app, '/_errors/429')).body, 'series 429')
  t.equal((await html(app, '/_errors/418')).body, 'teapot handler', 'handlers run as they would')
  t.match((await html(app, '/_errors/500')).body, BUILT_IN)
  t.equal((await html(app, '/blog/_errors/404')).body, 'blog 404')
  const json = await app.inject({ url: '/_errors/503', headers: API })
  t.equal(json.statusCode, 503)
  t.equal(json.json().statusCode, 503)
  for (const bad of ['200', '600', '499', 'abc', '4041']) {
    const res = await app.inject({ url: `/_errors/${bad}`, headers: API })
    t.equal(res.statusCode, 404, `/_errors/${bad}`)
    t.match(res.json().message, /No error page preview for ".*": use a status from 400 to 599 that has an error class, e\.g\. \/_errors\/404\./)
  }
  const { app: off } = await withViews(t, { errors: { '410.ejs': 'x' } })
  t.equal((await off.inject({ url: '/_errors/410', headers: API })).statusCode, 404, 'off by default')
})

t.test('preview is validated, and not mounted in production', async (t) => {
  const log = Fastify().log
  t.equal(previewOption({}, log), undefined)
  t.equal(previewOption({ preview: false }, log), undefined)
  t.equal(previewOption({ preview: '/_errors' }, log, {}), '/_errors')
  t.equal(previewOption({ preview: '/dev/errors' }, log, { NODE_ENV: 'development' }), '/dev/errors')
  for (const bad of ['_errors', '/', '/a/', '/:status', '/*', '/a b', true, 5]) {
    t.throws(() => previewOption({ preview: bad }, log, {}), FFE_INVALID_OPTION, `rejects ${JSON.stringify(bad)}`)
  }
  t.equal(previewOption({ preview: '/_errors' }, log, { NODE_ENV: 'production' }), undefined)
  const saved = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => { if (saved === undefined) delete process.env.NODE_ENV; else process.env.NODE_ENV = saved })
  const { app, logs } = await build({ preview: '/_errors' })
  await app.ready()
  t.equal((await app.inject({ url: '/_errors/410', headers: API })).statusCode, 404, 'not mounted')
  t.match(logs.filter((line) => line.level === LEVEL.warn), [{ msg: /^preview "\/_errors" is not mounted because NODE_ENV is "production"/ }])
})

t.test('the example app: templates for the site and the blog; no preview in production', async (t) => {
  const saved = process.env.NODE_ENV
  t.teardown(() => { if (saved === undefined) delete process.env.NODE_ENV; else process.env.NODE_ENV = saved })
  process.env.NODE_ENV = 'development'
  const dev = await buildApp({ logger: false })
  t.teardown(() => dev.close())
  t.match((await html(dev, '/_errors/410')).body, /<h1>Gone<\/h1>/, 'errors/4xx.ejs through the preview')
  t.match((await html(dev, '/blog/_errors/404')).body, /<h1>No such post<\/h1>/)
  t.match((await html(dev, '/nowhere')).body, /<title>404 Not Found · fastify-flask-errors example<\/title>[\s\S]*<h1>Page not found<\/h1>/, 'the layout wraps the page')
  t.match((await html(dev, '/crash')).body, /<h1>Something broke<\/h1>/)
  t.match((await html(dev, '/blog/crash')).body, /<h1>The blog is having trouble<\/h1>/)
  process.env.NODE_ENV = 'production'
  const prod = await buildApp({ logger: false })
  t.teardown(() => prod.close())
  for (const url of ['/_errors/410', '/blog/_errors/404']) {
    const res = await html(prod, url)
    t.equal(res.status, 404, `${url} does not exist in production`)
    t.notMatch(res.body, /Gone/)
  }
})
