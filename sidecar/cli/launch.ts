#!/usr/bin/env node
/**
 * dist/blender-sidecar.mjs: what `blender-sidecar` runs. It starts the bundled CLI (blender-sidecar.cjs, beside this
 * file) from V8's compiled form of it kept in the user's cache folder (code-cache.ts), which saves every command the
 * bundle's compile. BLENDER_SIDECAR_CODE_CACHE names another folder for it, or `off`.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userCacheFolder } from '../platform.js';
import { runCompiled } from './code-cache.js';

const setting = process.env.BLENDER_SIDECAR_CODE_CACHE;
const cacheDir = setting === 'off' ? undefined : setting || join(userCacheFolder('blender-sidecar', process.env), 'code');
runCompiled(join(dirname(fileURLToPath(import.meta.url)), 'blender-sidecar.cjs'), cacheDir);
