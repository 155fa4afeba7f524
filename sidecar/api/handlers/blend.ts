/** Handler for blend.inspect. */
import { isAbsolute } from 'node:path';
import { describeError, DomainError, InvalidInputError } from '../../domain/errors.js';
import { readBlendHeader } from '../../domain/blender/blend-header.js';
import { routeBlend } from '../../domain/blender/routing.js';
import type { Handlers } from '../../protocol/method.js';
import type { Services } from '../services.js';
import type { CallContext } from '../session.js';
import type { blendMethods } from '../spec/blend.js';

export function blendHandlers(s: Services): Handlers<typeof blendMethods, CallContext> {
  return {
    'blend.inspect': async ({ path, blender }) => {
      if (!isAbsolute(path)) throw new InvalidInputError('path', `"${path}" must be an absolute path`);
      let header: ReturnType<typeof readBlendHeader>;
      try {
        header = readBlendHeader(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT'
            ? 'does not exist'
            : code === 'EISDIR'
              ? 'is a folder, not a file'
              : code === 'EACCES'
                ? 'cannot be read (check its permissions)'
                : describeError(err);
        throw new InvalidInputError('path', `${path} ${why}`);
      }
      const answer = { path, ...header };
      if (!header.isBlend || header.problem)
        return { ...answer, refused: `${path} cannot be opened: ${header.problem ?? 'not a .blend file'}` };
      try {
        const runsOn = await routeBlend(path, header, await s.blenders.list(), blender, 'path');
        return { ...answer, runsOn };
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return { ...answer, refused: err.message };
      }
    },
  };
}
