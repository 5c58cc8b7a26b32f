/**
 * The main example end to end through fastify.inject: the Flask docs' cases, a blog prefix that owns
 * its 404s, an API prefix that answers JSON (405 with Allow), and no leaked internals.
 */
import t from 'tap'
import { buildApp } from '../examples/app.js'
import { API, BROWSER } from './helpers.js'

t.test('the example app', async (t) => {
  const app = await buildApp({ logger: false })
  t.teardown(() => app.close())

  t.test('/profile aborts with 400 without a name and 404 for an unknown one', async (t) => {
    const missing = await app.inject({ url: '/profile', headers: API })
    t.equal(missing.statusCode, 400)
    t.equal(missing.json().message, 'Say whose profile: /profile?username=alice')
    const unknown = await app.inject({ url: '/profile?username=carol', headers: BROWSER })
    t.equal(unknown.statusCode, 404)
    t.match(unknown.body, /Page not found/i)
    t.equal((await app.inject('/profile?username=alice')).statusCode, 200)
  })

  t.test('the site 500 page hides the internals, for browsers and API clients', async (t) => {
    for (const headers of [BROWSER, API]) {
      const res = await app.inject({ url: '/crash', headers })
      t.equal(res.statusCode, 500)
      t.notMatch(res.body, /database password|db\.internal|5432/)
    }
  })

  t.test('the blog owns its unknown URLs and its 500s; the site keeps its own', async (t) => {
    const blog404 = await app.inject({ url: '/blog/no-such-post', headers: BROWSER })
    t.equal(blog404.statusCode, 404)
    t.match(blog404.body, /No such post/)
    const blog500 = await app.inject({ url: '/blog/crash', headers: BROWSER })
    t.equal(blog500.statusCode, 500)
    t.match(blog500.body, /The blog is having trouble/)
    t.notMatch(blog500.body, /template exploded/)
    const site404 = await app.inject({ url: '/elsewhere', headers: BROWSER })
    t.match(site404.body, /Page not found/i)
    t.notMatch(site404.body, /No such post/)
  })

  t.test('a hostile URL is escaped in the 404 page', async (t) => {
    // An HTTP client encodes < > and " in paths; the apostrophe and ampersand arrive as they are.
    const res = await app.inject({ url: "/blog/'onmouseover='alert(1)'&x", headers: BROWSER })
    t.equal(res.statusCode, 404)
    t.notMatch(res.body, /'onmouseover='/)
    t.match(res.body, /&#39;onmouseover=&#39;alert\(1\)&#39;&amp;x/)
  })

  t.test('the API answers JSON, even to browsers: its error class, 404, 405 with Allow', async (t) => {
    const bad = await app.inject({ url: '/api/users/x', headers: BROWSER })
    t.equal(bad.statusCode, 400)
    t.same(bad.json(), { id: 'x', message: 'user id must be a positive integer' })
    const missing = await app.inject({ url: '/api/users/99', headers: BROWSER })
    t.equal(missing.statusCode, 404)
    t.equal(missing.json().message, 'user 99 does not exist')
    const wrong = await app.inject({ method: 'DELETE', url: '/api/users/1', headers: BROWSER })
    t.equal(wrong.statusCode, 405)
    t.equal(wrong.headers.allow, 'GET, HEAD')
    t.same(wrong.json(), { message: 'wrong method', allowed: ['GET', 'HEAD'] })
    const unknown = await app.inject({ url: '/api/nothing/here', headers: BROWSER })
    t.equal(unknown.statusCode, 404)
    t.match(unknown.headers['content-type'], /json/, 'the /api prefix forces JSON on routing errors too')
    t.same((await app.inject('/api/users/1')).json(), { id: 1, name: 'alice' })
  })
})
