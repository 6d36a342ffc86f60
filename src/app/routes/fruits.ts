import type { Hono } from 'hono';
import type { AppOptions } from '../context.js';
import { HttpError } from '../errors.js';

/**
 * GET /api/fruits: the species the run can recognise and every class (for the "tell us the right fruit"
 * list); GET /api/fruits/:id: one species' card and its classes.
 */
export function registerFruits(app: Hono, options: AppOptions): void {
  const classes = () =>
    options.identifier.classes.map((className) => {
      const entry = options.directory.forClass(className);
      return { class: className, fruitId: entry.fruit?.id, label: entry.label };
    });

  app.get('/api/fruits', (c) => {
    const list = classes();
    const ids = new Set(list.map((x) => x.fruitId).filter((id): id is string => id !== undefined));
    const fruits = [...ids].map((id) => options.directory.species(id)).filter((f) => f !== undefined);
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ fruits, classes: list });
  });

  app.get('/api/fruits/:id', (c) => {
    const id = c.req.param('id');
    const fruit = options.directory.species(id);
    if (!fruit) throw new HttpError(404, 'not-found', `no fruit with id ${JSON.stringify(id)}; GET /api/fruits lists them`);
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ fruit, classes: classes().filter((x) => x.fruitId === id) });
  });
}
