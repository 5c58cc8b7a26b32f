// Builds dist/esm (the ESM source compiled) and dist/cjs (the same as CommonJS), so the package
// works from `import` and from `require`. In CommonJS, `require('fastify-flask-errors')` returns the
// plugin itself with the named exports on it, the shape Fastify plugins have (`@fastify/sensible`).
import { execFileSync } from 'node:child_process'
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import ts from 'typescript'

const tsc = (project) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' })
rmSync('dist', { recursive: true, force: true })
tsc('tsconfig.build.json')
tsc('tsconfig.cjs.json')
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n')
appendFileSync('dist/cjs/index.js', '\nmodule.exports = Object.assign(exports.default, exports);\n')
cjsDeclarations()

/**
 * tsc declares the CommonJS build as it declares the ESM one: a module whose `default` is the plugin.
 * That is not what `require` returns once index.js is reassigned above, so a TypeScript CommonJS file
 * (`import flaskErrors = require('fastify-flask-errors')`) could not pass it to `app.register`. The
 * declarations tsc wrote move to exports.d.ts, and index.d.ts declares what `require` gives: the plugin
 * function merged with a namespace that holds every export (values and types) under its own name.
 * The names are read from exports.d.ts by the compiler, so a new export needs no change here.
 */
function cjsDeclarations () {
  const file = resolve('dist/cjs/exports.d.ts')
  // An import alias may not go through an `export type` (TS1380), and an `export type { … } from` means
  // nothing more than `export { … } from` in a declaration file, which holds only declarations anyway.
  writeFileSync(file, readFileSync('dist/cjs/index.d.ts', 'utf8').replace(/^export type \{/gm, 'export {'))
  rmSync('dist/cjs/index.d.ts')
  const compilerOptions = { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, skipLibCheck: true, noEmit: true }
  const program = ts.createProgram([file], compilerOptions)
  const checker = program.getTypeChecker()
  const names = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file))).map((symbol) => symbol.name)
  if (!names.includes('default') || !names.includes('flaskErrors')) {
    throw new Error(`dist/cjs/exports.d.ts exports no plugin: ${names.join(', ')}`)
  }
  const members = names.filter((name) => name !== 'default').sort().map((name) => `  export import ${name} = api.${name}\n`)
  writeFileSync('dist/cjs/index.d.ts', [
    '// Written by scripts/build.mjs: `require(\'fastify-flask-errors\')` is the plugin, with every named export on it.\n',
    'import * as api from \'./exports.js\'\n',
    '/** The plugin (see exports.d.ts for the documentation of every export). */\n',
    'declare function flaskErrors (...args: Parameters<typeof api.default>): ReturnType<typeof api.default>\n',
    'declare namespace flaskErrors {\n',
    ...members,
    '  export { flaskErrors as default }\n',
    '}\n',
    'export = flaskErrors\n'
  ].join(''))
}
