/**
 * lib/routing.ts through fastify.inject: 404 vs 405 with Allow on plain, parametric, wildcard,
 * regex and prefixed routes; prefixed contexts owning their not-found responses.
 */
import t from 'tap'
import Fastify from 'fastify'
import flaskErrors, { FFE_NOT_FOUND_HANDLER_TAKEN, FFE_ROUTING_CLAIM_TOO_LATE, MethodNotAllowed, NotFound } from '../index.js'
import { MethodIndex, PrefixOwners } from '../lib/routing.js'
import { build, API, BROWSER, LEVEL } from './helpers.js'

t.test('405 with Allow instead of 404 when the path is served under other methods', async (t) => {
  const { app } = await build()
  app.get('/plain', async () => 'ok')
  app.post('/plain', async () => 'ok')
  app.put('/users/:id', async () => 'ok')
  app.delete('/files/*', async () => 'ok')
  app.get('/re/:n(^\\d+$)', async () => 'ok')
  await app.register(async (api) => { api.patch('/item/:id', async () => 'ok') }, { prefix: '/api' })

  const cases: Array<[string, string, string]> = [
    ['DELETE', '/plain', 'GET, HEAD, POST'],
    ['GET', '/users/42', 'PUT'],
    ['POST', '/files/a/b/c.txt', 'DELETE'],
    ['POST', '/re/12', 'GET, HEAD'],
    ['GET', '/api/item/7?x=1', 'PATCH']
  ]
  for (const [method, url, allow] of cases) {
    const res = await app.inject({ method: method as 'GET', url, headers: API })
    t.equal(res.statusCode, 405, `${method} ${url}`)
    t.equal(res.headers.allow, allow, `${method} ${url} Allow`)
    t.same(res.json().error, 'Method Not Allowed')
  }
  const regexMiss = await app.inject({ method: 'POST', url: '/re/abc' })
  t.equal(regexMiss.statusCode, 404, 'a path that matches no route under any method is a 404')
  const unknown = await app.inject({ url: '/nothing', headers: API })
  t.equal(unknown.statusCode, 404)
  t.notOk('allow' in unknown.headers)
})

t.test('a method seen only on a registered route is probed too', async (t) => {
  const { app } = await build()
  app.addHttpMethod('PROPFIND')
  app.route({ method: 'PROPFIND', url: '/dav', handler: async () => 'ok' })
  const res = await app.inject({ method: 'GET', url: '/dav' })
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'PROPFIND')
})

t.test('routes registered before the plugin are found (common methods)', async (t) => {
  const app = Fastify()
  app.put('/early', async () => 'ok')
  await app.register(flaskErrors)
  const res = await app.inject({ method: 'GET', url: '/early' })
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'PUT')
})

t.test('PrefixOwners.ownerOf: the longest claimed prefix the URL lies under, else the fallback', async (t) => {
  const owners = new PrefixOwners()
  const root = Fastify()
  t.equal(owners.ownerOf('/anything', root), root, 'nothing claimed: the fallback')
  const blog = { prefix: '/blog', setNotFoundHandler () {} } as unknown as typeof root
  const admin = { prefix: '/blog/admin', setNotFoundHandler () {} } as unknown as typeof root
  owners.install(blog, () => {})
  owners.install(admin, () => {})
  t.equal(owners.ownerOf('/blog/admin/x', root), admin)
  t.equal(owners.ownerOf('/blog?x=1', root), blog)
  t.equal(owners.ownerOf('/blog/post', root), blog)
  t.equal(owners.ownerOf('/blogger', root), root)
})

t.test('MethodIndex keeps the common methods first and adds others once', async (t) => {
  const index = new MethodIndex(['GET', 'HEAD', 'POST', 'LOCK', 'TRACE'])
  index.add(['LOCK', 'get'])
  index.add('LOCK')
  t.same(index.methods, ['GET', 'HEAD', 'POST', 'LOCK'])
})

t.test('a custom 405 handler renders the body; Allow is still set', async (t) => {
  const { app } = await build()
  app.errorhandler(405)(() => '<h1>Wrong method</h1>')
  app.get('/only-get', async () => 'ok')
  const res = await app.inject({ method: 'POST', url: '/only-get' })
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'GET, HEAD')
  t.equal(res.body, '<h1>Wrong method</h1>')
})

t.test('a root Error / HTTPException handler receives routing errors when no status handler exists (as in Flask)', async (t) => {
  const { app } = await build()
  const seen: string[] = []
  app.errorhandler(Error)((error) => { seen.push(error.constructor.name); return 'generic' })
  app.get('/x', async () => 'ok')
  const notFound = await app.inject('/y')
  const notAllowed = await app.inject({ method: 'DELETE', url: '/x' })
  t.equal(notFound.statusCode, 404)
  t.equal(notAllowed.statusCode, 405)
  t.equal(notAllowed.headers.allow, 'GET, HEAD')
  t.same(seen, ['NotFound', 'MethodNotAllowed'])
})

t.test('a prefixed context with a 404 handler owns its unknown URLs (Flask blueprints cannot)', async (t) => {
  const { app } = await build()
  app.errorhandler(404)(() => ['site 404', 404])
  await app.register(async (blog) => {
    blog.errorhandler(404)((error) => ['blog 404: ' + (error instanceof NotFound ? 'routing' : 'other'), 404])
    blog.get('/post', async () => 'post')
    blog.get('/missing-post', async () => { throw new NotFound() })
    await blog.register(async (admin) => {
      admin.errorhandler(NotFound)(() => ['admin 404', 404])
    }, { prefix: '/admin' })
  }, { prefix: '/blog' })
  await app.register(async (shop) => {
    shop.get('/item', async () => 'item')
  }, { prefix: '/shop' })

  t.equal((await app.inject('/blog/unknown')).body, 'blog 404: routing')
  t.equal((await app.inject('/blog/missing-post')).body, 'blog 404: routing')
  t.equal((await app.inject('/blog')).body, 'blog 404: routing')
  t.equal((await app.inject('/blog/admin/x')).body, 'admin 404', 'nested prefixes each own theirs')
  t.equal((await app.inject('/shop/unknown')).body, 'site 404', 'a prefix without a 404 handler falls back to the root')
  t.equal((await app.inject('/blogger')).body, 'site 404', '/blogger is not under /blog')
  t.equal((await app.inject('/unknown')).body, 'site 404')
})

t.test('a 405 handler in a prefixed context also claims the prefix', async (t) => {
  const { app } = await build()
  await app.register(async (api) => {
    api.register_error_handler(405, (error) => [{ api: true, allow: (error as MethodNotAllowed).validMethods }, 405])
    api.get('/things', async () => [])
  }, { prefix: '/api' })
  const res = await app.inject({ method: 'POST', url: '/api/things' })
  t.equal(res.statusCode, 405)
  t.same(res.json(), { api: true, allow: ['GET', 'HEAD'] })
  t.equal(res.headers.allow, 'GET, HEAD')
  const notFound = await app.inject({ url: '/api/nothing', headers: API })
  t.equal(notFound.statusCode, 404, 'the owner answers 404s by the lookup too (default here)')
})

t.test('a child without a prefix does not claim routing errors', async (t) => {
  const { app } = await build()
  await app.register(async (child) => {
    child.errorhandler(404)(() => ['child 404', 404])
    child.get('/thrown', async () => { throw new NotFound() })
  })
  t.equal((await app.inject('/thrown')).body, 'child 404')
  t.equal((await app.inject({ url: '/unknown', headers: API })).json().statusCode, 404)
})

t.test('two siblings with the same prefix: the first owns it, the second is warned', async (t) => {
  const { app, logs } = await build()
  await app.register(async function blogPosts (a) {
    a.errorhandler(404)(() => ['first', 404])
  }, { prefix: '/blog' })
  await app.register(async function blogTags (b) {
    b.errorhandler(404)(() => ['second', 404])
    b.get('/tag', async () => { throw new NotFound() })
  }, { prefix: '/blog' })
  await app.ready()
  t.equal((await app.inject('/blog/unknown')).body, 'first')
  t.equal((await app.inject('/blog/tag')).body, 'second', "the second's handler still sees its own routes' 404s")
  const warning = logs.find((l) => l.level === LEVEL.warn && /owned by/.test(l.msg))
  t.match(warning?.msg, /blogPosts/)
  t.match(warning?.msg, /blogTags/)
  // Registering twice in the same context is fine (later handler wins, as in Flask).
})

t.test('claiming a prefix after ready() throws a clear error; other registrations work', async (t) => {
  const { app } = await build()
  let late: any
  await app.register(async (blog) => { late = blog }, { prefix: '/blog' })
  await app.ready()
  t.throws(() => late.errorhandler(404)(() => 'late'), FFE_ROUTING_CLAIM_TOO_LATE)
  t.doesNotThrow(() => late.errorhandler(410)(() => 'fine'))
})

t.test('a not-found handler the app set itself is reported clearly', async (t) => {
  const app = Fastify()
  app.setNotFoundHandler((request, reply) => { reply.code(404).send('mine') })
  await t.rejects(async () => { await app.register(flaskErrors) }, FFE_NOT_FOUND_HANDLER_TAKEN)

  const app2 = Fastify()
  await app2.register(flaskErrors)
  await app2.register(async (blog) => {
    blog.setNotFoundHandler((request, reply) => { reply.code(404).send('mine') })
    t.throws(() => blog.errorhandler(404)(() => 'x'), FFE_NOT_FOUND_HANDLER_TAKEN)
  }, { prefix: '/blog' })
})

t.test('routing errors negotiate like any error', async (t) => {
  const { app } = await build()
  const html = await app.inject({ url: '/missing?q=<script>', headers: BROWSER })
  t.equal(html.statusCode, 404)
  t.match(html.headers['content-type'], /text\/html/)
  t.match(html.body, /<h1>Not Found<\/h1>/)
  t.equal(html.headers.vary, 'Accept')
})

t.test('routing 404s and 405s: app code gets an exception of its own per request, shared with no other', async (t) => {
  const view = (await import('@fastify/view')).default
  const ejs = (await import('ejs')).default

  t.test('a 404 handler gets a NotFound of its own each time; what it changes stays with it', async (t) => {
    const { app } = await build()
    const seen: unknown[] = []
    await app.register(async (blog) => {
      blog.errorhandler(404)((error) => {
        const own = error as NotFound
        t.same(own.headers, {}, 'what an earlier handler changed is not on this one')
        seen.push(own)
        own.headers['X-Changed-By-Handler'] = 'yes'
        return { handled: true }
      })
    }, { prefix: '/blog' })
    await app.ready()
    t.same((await app.inject({ url: '/blog/a', headers: API })).json(), { handled: true })
    t.same((await app.inject({ url: '/blog/b', headers: API })).json(), { handled: true })
    t.equal(seen.length, 2)
    t.ok(seen[0] instanceof NotFound)
    t.not(seen[0], seen[1], 'one error per request')
    const plain = await app.inject({ url: '/elsewhere', headers: API })
    t.equal(plain.statusCode, 404)
    t.notOk('x-changed-by-handler' in plain.headers, "the handler's change did not reach the default response")
  })

  t.test('a 405 handler gets a MethodNotAllowed of its own, with the methods of its own path', async (t) => {
    const { app } = await build()
    const seen: MethodNotAllowed[] = []
    app.get('/one', () => 'one')
    app.post('/two', () => 'two')
    app.errorhandler(405)((error) => {
      const own = error as MethodNotAllowed
      t.notOk('X-Changed-By-Handler' in own.headers, 'what an earlier handler changed is not on this one')
      seen.push(own)
      own.headers['X-Changed-By-Handler'] = 'yes'
      return [{ allow: own.validMethods }, 405]
    })
    await app.ready()
    const one = await app.inject({ method: 'DELETE', url: '/one', headers: API })
    t.same(one.json(), { allow: ['GET', 'HEAD'] })
    t.equal(one.headers.allow, 'GET, HEAD')
    const two = await app.inject({ method: 'DELETE', url: '/two', headers: API })
    t.same(two.json(), { allow: ['POST'] })
    t.equal(two.headers.allow, 'POST')
    t.equal(seen.length, 2)
    t.ok(seen[0] instanceof MethodNotAllowed)
    t.not(seen[0], seen[1], 'one error per request')
  })

  t.test('the default 405 takes Allow from its own path', async (t) => {
    const { app } = await build()
    app.get('/one', () => 'one')
    app.put('/two', () => 'two')
    await app.ready()
    const one = await app.inject({ method: 'POST', url: '/one?x=1', headers: API })
    t.equal(one.statusCode, 405)
    t.equal(one.headers.allow, 'GET, HEAD')
    t.same(one.json(), { statusCode: 405, error: 'Method Not Allowed', message: 'This method is not allowed for this address.', requestId: one.json().requestId })
    const two = await app.inject({ method: 'POST', url: '/two', headers: BROWSER })
    t.equal(two.headers.allow, 'PUT')
    t.match(two.body, /<h1>Method Not Allowed<\/h1>/)
    t.equal((await app.inject({ method: 'POST', url: '/one', headers: API })).headers.allow, 'GET, HEAD', 'each path its own methods, every time')
  })

  t.test('a reporter and a template get their own too', async (t) => {
    const reported: unknown[] = []
    const { app } = await build({ report: (report) => { reported.push(report.error) }, reportWhen: [404] })
    // The template says whether an earlier request's change is on its error, then changes it.
    const root = t.testdir({ errors: { '404.ejs': '<%= error.constructor.name %> <%= "X-From-Template" in error.headers ? "reused" : "fresh" %> <% error.headers["X-From-Template"] = 1 %>' } })
    await app.register(view, { engine: { ejs }, root })
    await app.ready()
    for (const url of ['/missing', '/missing-too']) {
      const page = await app.inject({ url, headers: BROWSER })
      t.equal(page.statusCode, 404)
      t.match(page.body, 'NotFound fresh', `${url}: an error of its own`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.ok(reported.length >= 1)
    t.ok(reported[0] instanceof NotFound)
    t.same((reported[0] as NotFound).headers, { 'X-From-Template': 1 }, 'the reporter got the error the template saw, and nobody else did')
    await app.close()
  })

  t.test('when sending the default 404 fails, the 500 handler sees a NotFound cause of its own', async (t) => {
    const { app } = await build()
    let cause: unknown
    app.errorhandler(500)((error) => {
      cause = (error as Error).cause
      return { failed: true }
    })
    let first = true
    app.addHook('onSend', async (request, reply, payload) => {
      if (first && reply.statusCode === 404) {
        first = false
        throw new Error('onSend failed once')
      }
      return payload
    })
    await app.ready()
    const res = await app.inject({ url: '/missing', headers: API })
    t.equal(res.statusCode, 500)
    t.same(res.json(), { failed: true })
    t.ok(cause instanceof NotFound, 'the cause is the 404 being answered')
  })

  t.test('when sending the default 405 fails, the cause is a MethodNotAllowed of its own with its methods', async (t) => {
    const { app, logs } = await build()
    let cause: unknown
    app.errorhandler(500)((error) => {
      cause = (error as Error).cause
      return { failed: true }
    })
    app.get('/page', () => 'page')
    app.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode === 405) throw new Error('onSend failed')
      return payload
    })
    await app.ready()
    const res = await app.inject({ method: 'PATCH', url: '/page', headers: API })
    t.equal(res.statusCode, 500)
    t.same(res.json(), { failed: true })
    t.ok(cause instanceof MethodNotAllowed)
    t.same((cause as MethodNotAllowed).validMethods, ['GET', 'HEAD'])
    const failure = logs.find((l) => /default error response failed/.test(String(l.msg)))
    t.match(failure?.originalError, { type: 'MethodNotAllowed', message: 'This method is not allowed for this address.' }, 'the log line names the 405 being answered')
  })
})

t.test('a route that calls reply.callNotFound() answers 404, not 405, though other methods serve its path', async (t) => {
  const { app } = await build()
  app.get('/files/:name', async (request, reply) => { reply.callNotFound() })
  app.delete('/files/:name', async () => 'deleted')
  const res = await app.inject({ url: '/files/missing.txt', headers: API })
  t.equal(res.statusCode, 404, 'its own method routes the path: the resource is what is missing')
  t.notOk('allow' in res.headers)
  const head = await app.inject({ method: 'HEAD', url: '/files/missing.txt' })
  t.equal(head.statusCode, 404, 'HEAD, which Fastify serves from the GET route, too')
  const wrong = await app.inject({ method: 'POST', url: '/files/missing.txt', headers: API })
  t.equal(wrong.statusCode, 405, 'a method no route serves there is still a 405')
  t.equal(wrong.headers.allow, 'GET, HEAD, DELETE')
})

t.test('catch-all routes never make an unknown URL a 405', async (t) => {
  t.test('OPTIONS * (as @fastify/cors registers it), registered after the plugin', async (t) => {
    const { app } = await build()
    app.options('*', async (request, reply) => reply.code(204).send())
    app.get('/things', async () => [])
    for (const url of ['/unknown', '/', '/a%20b/c%2Fd', '/deep/er/path?x=1']) {
      const res = await app.inject({ url, headers: API })
      t.equal(res.statusCode, 404, url)
      t.notOk('allow' in res.headers, `${url}: no Allow`)
    }
    const wrong = await app.inject({ method: 'POST', url: '/things', headers: API })
    t.equal(wrong.statusCode, 405)
    t.equal(wrong.headers.allow, 'GET, HEAD', 'no OPTIONS from the catch-all')
  })

  t.test('OPTIONS * registered before the plugin', async (t) => {
    const app = Fastify()
    app.options('*', async (request, reply) => reply.code(204).send())
    app.get('/things', async () => [])
    await app.register(flaskErrors)
    t.teardown(() => app.close())
    t.equal((await app.inject({ url: '/unknown', headers: API })).statusCode, 404)
    t.equal((await app.inject({ method: 'PUT', url: '/things', headers: API })).headers.allow, 'GET, HEAD')
  })

  t.test('a real OPTIONS route on the path is listed', async (t) => {
    const { app } = await build()
    app.options('*', async (request, reply) => reply.code(204).send())
    app.get('/things', async () => [])
    app.options('/things', async () => 'options')
    const res = await app.inject({ method: 'DELETE', url: '/things', headers: API })
    t.equal(res.statusCode, 405)
    t.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
  })

  t.test('an SPA fallback GET /* that calls callNotFound() for API paths', async (t) => {
    const { app } = await build()
    app.get('/*', async (request, reply) => {
      if (request.url.startsWith('/api/')) return reply.callNotFound()
      return 'the app shell'
    })
    app.post('/api/login', async () => 'ok')
    t.equal((await app.inject({ url: '/api/nothing', headers: API })).statusCode, 404)
    t.equal((await app.inject({ method: 'POST', url: '/api/nothing', headers: API })).statusCode, 404, 'GET and HEAD from the catch-all are not offered')
    const login = await app.inject({ method: 'GET', url: '/api/login', headers: API })
    t.equal(login.statusCode, 404, 'GET /api/login is routed under GET (by the catch-all), which called callNotFound()')
    const wrong = await app.inject({ method: 'PUT', url: '/api/login', headers: API })
    t.equal(wrong.headers.allow, 'POST', 'a wrong method on a real route lists the real route only')
  })

  t.test('OPTIONS * of a plugin registered inside a prefixed context (cors inside /api)', async (t) => {
    const { app } = await build()
    await app.register(async (api) => {
      api.options('*', async (request, reply) => reply.code(204).send())
      api.get('/things', async () => [])
    }, { prefix: '/api' })
    for (const url of ['/api/unknown', '/api', '/api/']) {
      t.equal((await app.inject({ url, headers: API })).statusCode, 404, url)
    }
    t.equal((await app.inject({ method: 'POST', url: '/api/things', headers: API })).headers.allow, 'GET, HEAD')
  })

  t.test("a prefix's own GET /* serves its URL space: a wrong method there is a 405", async (t) => {
    const { app } = await build()
    await app.register(async (docs) => {
      docs.get('/*', async (request, reply) => reply.callNotFound())
    }, { prefix: '/docs' })
    t.equal((await app.inject({ url: '/docs/missing', headers: API })).statusCode, 404)
    const wrong = await app.inject({ method: 'POST', url: '/docs/page', headers: API })
    t.equal(wrong.statusCode, 405)
    t.equal(wrong.headers.allow, 'GET, HEAD')
  })

  t.test('the router options that change the path: trailing and duplicate slashes, case', async (t) => {
    const { app } = await build({}, { routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false } })
    app.options('*', async (request, reply) => reply.code(204).send())
    await app.register(async (api) => {
      api.options('/*', async (request, reply) => reply.code(204).send())
      api.get('/things', async () => [])
    }, { prefix: '/api' })
    for (const url of ['/unknown/', '//unknown', '/API/Unknown/', '/api//x//', '/Api']) {
      t.equal((await app.inject({ url, headers: API })).statusCode, 404, url)
    }
    t.equal((await app.inject({ method: 'PATCH', url: '/API/Things/', headers: API })).headers.allow, 'GET, HEAD')
  })

  t.test('a wildcard under a parameter is a real route, beside a catch-all', async (t) => {
    const { app } = await build()
    app.options('*', async (request, reply) => reply.code(204).send())
    app.options('/:lang/*', async () => 'localized preflight')
    const res = await app.inject({ url: '/en/page', headers: API })
    t.equal(res.statusCode, 405)
    t.equal(res.headers.allow, 'OPTIONS')
  })
})

t.test('a 404/405 handler in a child context without a prefix warns at startup, once, naming it and the fix', async (t) => {
  const { app, logs } = await build()
  await app.register(async function accounts (child) {
    child.errorhandler(404)(() => ['accounts 404', 404])
    child.errorhandler(405)(() => ['accounts 405', 405])
    child.errorhandler(410)(() => ['gone', 410])
    child.get('/accounts/missing', async () => { throw new NotFound() })
  })
  await app.ready()
  const warnings = logs.filter((l) => l.level === LEVEL.warn && /can own no routing/.test(l.msg))
  t.equal(warnings.length, 1, 'once per context')
  t.match(warnings[0]?.msg, /"accounts"/)
  t.match(warnings[0]?.msg, /give the plugin a prefix/)
  t.match(warnings[0]?.msg, /register the handler at the root/)
  t.equal((await app.inject('/accounts/missing')).body, 'accounts 404', 'its handler still sees its own routes\' 404s')
  t.equal((await app.inject({ url: '/elsewhere', headers: API })).json().statusCode, 404)
})

t.test('no such warning at the root, in a fastify-plugin plugin, or in a prefixed context', async (t) => {
  const fp = (await import('fastify-plugin')).default
  const { app, logs } = await build()
  app.errorhandler(404)(() => ['root', 404])
  await app.register(fp(async (root) => { root.errorhandler(405)(() => ['root 405', 405]) }))
  await app.register(async (blog) => { blog.errorhandler(404)(() => ['blog', 404]) }, { prefix: '/blog' })
  await app.ready()
  t.same(logs.filter((l) => l.level >= LEVEL.warn), [])
})

t.test('notFoundHooks run in front of the routing 404s and 405s the plugin answers', async (t) => {
  const seen: string[] = []
  const { app } = await build({
    notFoundHooks: {
      preValidation: (request, reply, done) => { seen.push(`validate ${request.url}`); done() },
      preHandler: [
        async (request) => { seen.push(`handle ${request.url}`) },
        async (request, reply) => {
          if (request.headers['x-block'] === 'yes') return await reply.code(401).send({ blocked: true })
        }
      ]
    }
  })
  app.get('/page', async () => 'page')
  await app.register(async (blog) => {
    blog.errorhandler(404)(() => ['blog 404', 404])
  }, { prefix: '/blog' })
  await app.register(async (shop) => {
    await shop.register(flaskErrors, { format: 'json', notFoundHooks: { preHandler: async (request, reply) => { reply.header('x-shop-hook', 'ran') } } })
    shop.errorhandler(404)(() => ['shop 404', 404])
  }, { prefix: '/shop' })
  await app.ready()

  t.equal((await app.inject({ url: '/page' })).statusCode, 200)
  t.same(seen, [], 'a successful request runs none of them')
  t.equal((await app.inject({ url: '/nothing', headers: API })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/page', headers: API })).statusCode, 405)
  t.same(seen, ['validate /nothing', 'handle /nothing', 'validate /page', 'handle /page'])
  const blocked = await app.inject({ url: '/nothing', headers: { ...API, 'x-block': 'yes' } })
  t.equal(blocked.statusCode, 401)
  t.same(blocked.json(), { blocked: true })
  seen.length = 0
  t.equal((await app.inject('/blog/unknown')).body, 'blog 404')
  t.same(seen, ['validate /blog/unknown', 'handle /blog/unknown'], 'a prefixed context that claims its prefix gets the root\'s hooks')
  seen.length = 0
  const shop = await app.inject('/shop/unknown')
  t.equal(shop.body, 'shop 404')
  t.equal(shop.headers['x-shop-hook'], 'ran', 'a context\'s own registration gives its own hooks')
  t.same(seen, [], 'instead of the root\'s')
})

t.test('notFoundHooks where they would run for no request are refused with the fix', async (t) => {
  const fp = (await import('fastify-plugin')).default
  const hook = async (): Promise<void> => {}

  const { app } = await build()
  await t.rejects(async () => {
    await app.register(async (child) => {
      await child.register(flaskErrors, { notFoundHooks: { preHandler: hook } })
    })
  }, { code: 'FFE_INVALID_OPTION', message: /context .* which has no prefix, would run for no request.*in a context registered with a prefix/ })

  const second = await build()
  await t.rejects(async () => {
    await second.app.register(fp(async (root) => {
      await root.register(flaskErrors, { notFoundHooks: { preHandler: hook } })
    }))
  }, { code: 'FFE_INVALID_OPTION', message: /root can only be given where the plugin is first registered/ })

  const third = await build()
  await t.rejects(async () => {
    await third.app.register(async (blog) => {
      blog.errorhandler(404)(() => 'blog')
      await blog.register(flaskErrors, { notFoundHooks: { preHandler: hook } })
    }, { prefix: '/blog' })
  }, { code: 'FFE_INVALID_OPTION', message: /came after it claimed the prefix "\/blog".*await child\.register\(flaskErrors, \{ notFoundHooks \}\)/ })
})
