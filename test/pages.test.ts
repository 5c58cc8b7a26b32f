/**
 * lib/pages.ts as a unit: what a default response shows (4xx shown, 5xx hidden), Fastify's JSON
 * shape, HTML escaping, the built-in page and its Content-Security-Policy.
 */
import t from 'tap'
import fc from 'fast-check'
import Fastify from 'fastify'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import flaskErrors, { abort, escapeHtml as publicEscapeHtml } from '../index.js'
import { BadRequest, HTTPException, InternalServerError, NotFound, ServiceUnavailable } from '../lib/exceptions.js'
import { readThrown } from '../lib/thrown.js'
import { DefaultBodies, ERROR_JSON_MEMBERS, PAGE_HEADERS, errorJson, errorView, escapeHtml, genericText, reasonPhrase, styleOnlyHeaders } from '../lib/pages.js'
import type { ErrorView } from '../lib/pages.js'

const bodies = new DefaultBodies()
/** The default JSON body and the built-in page, as one app writes them. */
const jsonBody = (view: ErrorView): string => bodies.json(view)
const htmlPage = (view: ErrorView): string => bodies.page(view)

/** The view of `error` sent with `status`, as the dispatcher builds it. */
function viewOf (error: unknown, status: number, url = '/path', requestId = 'req-1'): ErrorView {
  return errorView(status, readThrown(error), error, requestId, url)
}

function foreign (fields: Record<string, unknown>, message: string): Error {
  return Object.assign(new Error(message), fields)
}

t.test('reasonPhrase and genericText', async (t) => {
  t.equal(reasonPhrase(404), 'Not Found')
  t.equal(reasonPhrase(509), 'Bandwidth Limit Exceeded')
  t.equal(reasonPhrase(599), 'Server Error', 'a 5xx Node does not know')
  t.equal(reasonPhrase(499), 'Client Error', 'a 4xx Node does not know')
  t.equal(genericText(404), NotFound.description, 'our class description')
  t.equal(genericText(500), InternalServerError.description)
  t.equal(genericText(599), 'The server could not complete the request.')
  t.equal(genericText(499), 'The request could not be completed.')
})

t.test('errorView: what the client is told', async (t) => {
  t.test('4xx messages are shown', async (t) => {
    const view = viewOf(new NotFound('No user 7'), 404)
    t.equal(view.status, 404)
    t.equal(view.name, 'Not Found')
    t.equal(view.message, 'No user 7')
    t.equal(viewOf(foreign({ statusCode: 400 }, 'body/email is required'), 400).message, 'body/email is required')
  })

  t.test('5xx messages are hidden unless the app wrote an HTTPException description', async (t) => {
    const crash = new InternalServerError(undefined, { originalError: new Error('password=hunter2') })
    t.equal(viewOf(crash, 500).message, InternalServerError.description)
    t.equal(viewOf(foreign({ statusCode: 502 }, 'upstream 10.0.0.7:5432 refused'), 502).message, genericText(502))
    t.equal(viewOf(new Error('TypeError at db.js:12'), 500).message, genericText(500), 'a raw error sent as 500')
    t.equal(viewOf(new ServiceUnavailable(), 503).message, ServiceUnavailable.description)
    t.equal(viewOf(new ServiceUnavailable('Back at 5pm'), 503).message, 'Back at 5pm')
    t.equal(viewOf(new InternalServerError('Planned outage'), 500).message, 'Planned outage')
  })

  t.test('a message belongs to its own status only', async (t) => {
    // A handler answering a 404 with a 500 (or a 400 error sent as 404) shows the sent status's text.
    t.equal(viewOf(new NotFound('No user 7'), 500).message, genericText(500))
    t.equal(viewOf(new BadRequest('bad email'), 404).message, NotFound.description)
  })

  t.test('values without a status get the generic text', async (t) => {
    for (const value of ['a string', null, undefined, { message: 'plain object' }]) {
      t.equal(viewOf(value, 500).message, genericText(500))
    }
  })

  t.test('the query string is stripped from the path', async (t) => {
    t.equal(viewOf(new NotFound(), 404, '/users/7?token=secret').path, '/users/7')
    t.equal(viewOf(new NotFound(), 404, '/a?b?c').path, '/a')
    t.equal(viewOf(new NotFound(), 404, '/?').path, '/')
    t.equal(viewOf(new NotFound(), 404, '/plain').path, '/plain')
    t.equal(viewOf(new NotFound(), 404, '/x#frag').path, '/x#frag')
  })

  t.test('code and requestId are carried', async (t) => {
    t.equal(viewOf(foreign({ statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }, 'x'), 415, '/', 'abc').code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    t.equal(viewOf(new NotFound(), 404, '/', 'abc').code, undefined)
    t.equal(viewOf(new NotFound(), 404, '/', 'abc').requestId, 'abc')
  })

  t.test('validation details only for FST_ERR_VALIDATION', async (t) => {
    const details = [{ instancePath: '/email', message: 'must be string' }]
    t.same(viewOf(foreign({ statusCode: 400, code: 'FST_ERR_VALIDATION', validation: details }, 'body/email must be string'), 400).validation, details)
    t.equal(viewOf(foreign({ statusCode: 400, code: 'E_OTHER', validation: details }, 'x'), 400).validation, undefined, 'another code')
    t.equal(viewOf(foreign({ statusCode: 400, validation: details }, 'x'), 400).validation, undefined, 'no code')
    const hostile = foreign({ statusCode: 400, code: 'FST_ERR_VALIDATION' }, 'body/email must be string')
    Object.defineProperty(hostile, 'validation', { get () { throw new Error('getter') } })
    const view = viewOf(hostile, 400)
    t.equal(view.validation, undefined, 'a throwing validation getter leaves the details out')
    t.equal(view.message, 'body/email must be string', 'the message still says what failed')
  })

  t.test('validation details that are not JSON (a custom validator compiler): only JSON data is kept', async (t) => {
    const cyclic: Record<string, unknown> = { message: 'loop' }
    cyclic.self = cyclic
    const params: Record<string, unknown> = { limit: 10n, ok: 1 }
    params.self = params
    const cases: ReadonlyArray<readonly [unknown, unknown]> = [
      [[cyclic], [{ message: 'loop' }]],
      [[{ keyword: 'maximum', params }], [{ keyword: 'maximum', params: { ok: 1, self: { ok: 1, self: { ok: 1, self: { ok: 1 } } } } }]],
      [{ not: 'an array' }, undefined]
    ]
    for (const [details, expected] of cases) {
      const view = viewOf(foreign({ statusCode: 400, code: 'FST_ERR_VALIDATION', validation: details }, 'invalid'), 400)
      t.same(view.validation, expected)
      t.doesNotThrow(() => jsonBody(view), 'the JSON body can still be written')
    }
  })

  t.test('validationContext only for FST_ERR_VALIDATION, only a string', async (t) => {
    const fields = { statusCode: 400, code: 'FST_ERR_VALIDATION', validation: [], validationContext: 'querystring' }
    t.equal(viewOf(foreign(fields, 'x'), 400).validationContext, 'querystring')
    t.equal(viewOf(foreign({ ...fields, code: 'E_OTHER' }, 'x'), 400).validationContext, undefined)
    t.equal(viewOf(foreign({ ...fields, validationContext: 5 }, 'x'), 400).validationContext, undefined)
    const hostile = foreign({ statusCode: 400, code: 'FST_ERR_VALIDATION', validation: [] }, 'x')
    Object.defineProperty(hostile, 'validationContext', { get () { throw new Error('getter') } })
    t.equal(viewOf(hostile, 400).validationContext, undefined)
    t.same(viewOf(hostile, 400).validation, [], 'the details are kept')
  })
})

t.test('jsonBody: Fastify\'s shape, plus validation and requestId', async (t) => {
  const full = jsonBody({ status: 400, name: 'Bad Request', message: 'body/email <must> be "string"', code: 'FST_ERR_VALIDATION', validation: [{ a: 1 }], validationContext: 'body', requestId: 'r1', path: '/x' })
  const parsed = JSON.parse(full) as Record<string, unknown>
  t.same(Object.keys(parsed), ['statusCode', 'code', 'error', 'message', 'validation', 'validationContext', 'requestId'])
  t.same(parsed, { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: 'body/email <must> be "string"', validation: [{ a: 1 }], validationContext: 'body', requestId: 'r1' })
  t.ok(full.includes('<must>'), 'JSON is not HTML-escaped')

  const bare = JSON.parse(jsonBody(viewOf(new NotFound(), 404, '/p?q', 'r2'))) as Record<string, unknown>
  t.same(Object.keys(bare), ['statusCode', 'error', 'message', 'requestId'], 'no code or validation keys when absent')
  t.same(bare, { statusCode: 404, error: 'Not Found', message: NotFound.description, requestId: 'r2' })
  t.notOk('path' in bare, 'the path is not in the JSON body')
})

t.test('jsonBody writes what JSON.stringify writes for the same object, on both of its paths', async (t) => {
  // Lone surrogates, quotes, control characters, U+2028: the hand-joined fast path must escape as
  // JSON.stringify does, or a client's JSON.parse breaks.
  const text = fc.string({ unit: 'binary', maxLength: 30 })
  let runs = 0
  fc.assert(fc.property(fc.integer({ min: 400, max: 599 }), text, text, text, fc.option(text, { nil: undefined }), (status, name, message, requestId, code) => {
    runs++
    const view: ErrorView = { status, name, message, code, validation: undefined, validationContext: undefined, requestId, path: '/' }
    const expected = JSON.stringify({ statusCode: status, code, error: name, message, validation: undefined, validationContext: undefined, requestId })
    return jsonBody(view) === expected
  }), { numRuns: 300 })
  t.equal(runs, 300, '300 cases, with and without a code')
})

t.test('escapeHtml escapes all five characters and nothing else', async (t) => {
  t.equal(escapeHtml('&<>"\''), '&amp;&lt;&gt;&quot;&#39;')
  t.equal(escapeHtml('a & b < c > d " e \' f'), 'a &amp; b &lt; c &gt; d &quot; e &#39; f')
  t.equal(escapeHtml('&amp;'), '&amp;amp;', 'entities are escaped again, never trusted')
  t.equal(escapeHtml('<<>>'), '&lt;&lt;&gt;&gt;', 'every occurrence')
  t.equal(escapeHtml('plain text, ünïcödé ✓ / = ` '), 'plain text, ünïcödé ✓ / = ` ')
  t.equal(escapeHtml(''), '')
})

t.test('htmlPage', async (t) => {
  t.test('shows status, reason, message, reference and a link home', async (t) => {
    const page = htmlPage(viewOf(new NotFound('No user 7'), 404, '/users/7', 'req-42'))
    t.match(page, /^<!doctype html>/)
    t.match(page, '<title>404 Not Found</title>')
    t.match(page, '<p class="status">404</p>')
    t.match(page, '<h1>Not Found</h1>')
    t.match(page, '<p>No user 7</p>')
    t.match(page, 'Reference: <code>req-42</code>')
    t.match(page, '<a href="/">')
  })

  t.test('escapes a hostile description, request id and reason', async (t) => {
    const hostile = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>&'
    const page = htmlPage(viewOf(new BadRequest(hostile), 400, '/', '"><script>alert(3)</script>'))
    t.notMatch(page, /<script/i)
    t.notMatch(page, /<img/i)
    t.match(page, '<p>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;</p>')
    t.match(page, '<code>&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;</code>')

    const named = htmlPage({ status: 599, name: '<b>Frozen</b>', message: 'm', code: undefined, validation: undefined, validationContext: undefined, requestId: 'r', path: '/' })
    t.match(page, /<title>400 Bad Request<\/title>/)
    t.match(named, '<title>599 &lt;b&gt;Frozen&lt;/b&gt;</title>')
    t.match(named, '<h1>&lt;b&gt;Frozen&lt;/b&gt;</h1>')
    t.notMatch(named, '<b>')
  })

  t.test('a 5xx page never shows the original message', async (t) => {
    const page = htmlPage(viewOf(new InternalServerError(undefined, { originalError: new Error('password=hunter2') }), 500))
    t.notMatch(page, 'hunter2')
    t.match(page, `<p>${escapeHtml(InternalServerError.description)}</p>`)
  })

  t.test('carries no script, no handler attribute and no outside resource', async (t) => {
    const page = htmlPage(viewOf(new HTTPException(), 500))
    t.notMatch(page, /<script|<link|<img|<iframe|\son\w+=|src=|url\(/i)
  })
})

t.test('htmlPage: the cached head of a page is its own', async (t) => {
  const view = (status: number, name: string, message: string, requestId: string): ErrorView =>
    ({ status, name, message, code: undefined, validation: undefined, validationContext: undefined, requestId, path: '/' })
  const first = htmlPage(view(404, 'Not Found', 'same text', 'r1'))
  t.equal(htmlPage(view(404, 'Not Found', 'same text', 'r2')), first.replace('<code>r1<', '<code>r2<'), 'only the request id differs')
  const other = htmlPage(view(410, 'Gone', 'same text', 'r3'))
  t.match(other, '<title>410 Gone</title>', 'the same text under another status is not served the 404 head')
  t.match(other, '<p class="status">410</p>')
  const renamed = htmlPage(view(410, '<i>Gone</i>', 'same text', 'r4'))
  t.match(renamed, '<h1>&lt;i&gt;Gone&lt;/i&gt;</h1>', 'nor under another reason phrase')
  t.match(htmlPage(view(404, 'Not Found', 'same text', '<r5>')), '<code>&lt;r5&gt;</code>', 'the request id is escaped on every page')
})

t.test('a flood of distinct messages gets each its own page and JSON body', async (t) => {
  // Across the clears of the bounded caches (what they keep in memory is measured in the heap test below).
  for (let i = 0; i < 1000; i++) {
    const view: ErrorView = { status: 400, name: 'Bad Request', message: `message ${i}`, code: undefined, validation: undefined, validationContext: undefined, requestId: 'r', path: '/' }
    if (!htmlPage(view).includes(`<p>message ${i}</p>`)) t.fail(`page ${i} shows another message`)
    if ((JSON.parse(jsonBody(view)) as { message: string }).message !== `message ${i}`) t.fail(`JSON body ${i} carries another message`)
  }
  t.pass('1000 messages, each answered with its own')
})

t.test('memory: a flood of distinct messages and Accept values stays bounded, and each app keeps its own caches until closed', async (t) => {
  // A child process with --expose-gc, so the measure is of the apps alone, after a full collection.
  // Coverage is off in the child (tap's _TAPJS_PROCESSINFO_COVERAGE_=0): it loads the library through
  // tsx, whose coverage would be merged into the library's as if it were the same code.
  const script = fileURLToPath(new URL('./fixtures/cache-heap.ts', import.meta.url))
  const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { encoding: 'utf8', timeout: 50_000, env })
  t.equal(child.status, 0, child.stderr)
  const { flood, apps } = JSON.parse(child.stdout) as { flood: { messages: number, accepts: number }, apps: { bothOpen: number, firstClosed: number, bothClosed: number } }
  const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`
  // Kept whole, 3000 distinct 8 KB messages hold about 75 MB of heads, 20000 Accept values about 6 MB.
  t.ok(flood.messages < 20 * 1024 * 1024, `3000 distinct 8 KB messages, as JSON and as pages: the heap grew by ${mb(flood.messages)}`)
  t.ok(flood.accepts < 2 * 1024 * 1024, `20000 distinct Accept values: the heap grew by ${mb(flood.accepts)}`)
  // Each app's 100 messages of 32 KB make a few MB of heads, held by that app alone.
  t.ok(apps.bothOpen - apps.firstClosed > 4 * 1024 * 1024, `closing the first app let go of its caches (${mb(apps.bothOpen - apps.firstClosed)})`)
  t.ok(apps.firstClosed - apps.bothClosed > 4 * 1024 * 1024, `the second app kept its own until it was closed too (${mb(apps.firstClosed - apps.bothClosed)})`)
})

t.test('jsonBody: the cached head of a body is its own', async (t) => {
  const view = (status: number, name: string, requestId: string): ErrorView =>
    ({ status, name, message: 'shared text', code: undefined, validation: undefined, validationContext: undefined, requestId, path: '/' })
  t.same(JSON.parse(jsonBody(view(404, 'Not Found', 'r1'))), { statusCode: 404, error: 'Not Found', message: 'shared text', requestId: 'r1' })
  t.same(JSON.parse(jsonBody(view(404, 'Not Found', 'r2'))), { statusCode: 404, error: 'Not Found', message: 'shared text', requestId: 'r2' })
  t.same(JSON.parse(jsonBody(view(410, 'Gone', 'r3'))), { statusCode: 410, error: 'Gone', message: 'shared text', requestId: 'r3' }, 'another status')
  t.same(JSON.parse(jsonBody(view(410, 'Gone away', 'r4'))), { statusCode: 410, error: 'Gone away', message: 'shared text', requestId: 'r4' }, 'another reason')
})

t.test('PAGE_HEADERS: the CSP hash is the hash of the page\'s own <style>', async (t) => {
  const page = htmlPage(viewOf(new NotFound(), 404))
  const styles = [...page.matchAll(/<style>([^<]*)<\/style>/g)].map((match) => match[1])
  t.equal(styles.length, 1, 'one inline style')
  const hash = createHash('sha256').update(styles[0], 'utf8').digest('base64')
  const csp = PAGE_HEADERS['content-security-policy']
  const allowed = [...csp.matchAll(/'sha256-([A-Za-z0-9+/=]+)'/g)].map((match) => match[1])
  t.same(allowed, [hash], 'the style-src hash matches the style text byte for byte')
  t.match(csp, /(^|; )default-src 'none'(;|$)/)
  t.match(csp, `style-src 'sha256-${hash}'`)
  t.match(csp, "frame-ancestors 'none'")
  t.match(csp, "base-uri 'none'")
  t.match(csp, "form-action 'none'")
  t.notMatch(csp, 'unsafe-inline')
  t.equal(PAGE_HEADERS['x-content-type-options'], 'nosniff')
  t.same(Object.keys(PAGE_HEADERS).sort(), ['content-security-policy', 'x-content-type-options'])
})

t.test('styleOnlyHeaders: the one CSP builder of the built-in and the debug page', async (t) => {
  const page = htmlPage(viewOf(new NotFound(), 404))
  const style = /<style>([^<]*)<\/style>/.exec(page)?.[1] as string
  t.same(PAGE_HEADERS, styleOnlyHeaders(style), 'the built-in page\'s headers are built from its own style')
  const other = styleOnlyHeaders('body{color:red}')
  t.match(other['content-security-policy'], `style-src 'sha256-${createHash('sha256').update('body{color:red}').digest('base64')}'`)
  t.not(other['content-security-policy'], PAGE_HEADERS['content-security-policy'], 'another style, another hash')
})

t.test('errorJson: the one writer of the default JSON body, its members in one order', async (t) => {
  const full = { status: 400, name: 'Bad Request', message: 'm', code: 'FST_ERR_VALIDATION', validation: [{ a: 1 }], validationContext: 'body', requestId: 'r', traceId: 't' }
  t.same(Object.keys(JSON.parse(errorJson(full)) as object), ERROR_JSON_MEMBERS, 'every member, in the documented order')
  const view: ErrorView = { ...full, path: '/x' }
  t.equal(jsonBody(view), errorJson(full), 'the default JSON body is its text')
  const bare: ErrorView = { ...view, code: undefined, validation: undefined, validationContext: undefined }
  t.equal(jsonBody(bare), errorJson(bare), 'and so is the cached fast path\'s')
  t.same(JSON.parse(errorJson(bare, { extra: true })), { statusCode: 400, error: 'Bad Request', message: 'm', requestId: 'r', traceId: 't', debug: { extra: true } },
    'a debug member goes last')
})

t.test('escapeHtml from the package: a handler escapes what it puts in its own HTML', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  app.errorhandler(404)((error) => [`<h1>${publicEscapeHtml(error.message)}</h1>`, 404])
  app.get('/users/:name', (request) => abort(404, `No user called ${(request.params as { name: string }).name}`))
  const res = await app.inject('/users/%3Cimg%20src%3Dx%20onerror%3D%22alert(1)%22%3E')
  t.equal(res.statusCode, 404)
  t.equal(res.body, '<h1>No user called &lt;img src=x onerror=&quot;alert(1)&quot;&gt;</h1>')
  t.equal(publicEscapeHtml('&<>"\''), '&amp;&lt;&gt;&quot;&#39;', 'the five characters of element content and quoted attributes')
  t.equal(publicEscapeHtml('plain text'), 'plain text')
})
