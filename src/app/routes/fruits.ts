import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { classEntrySchema, errorResponse, fruitDetailSchema, fruitsListSchema, json } from '../api-schemas.js';
import type { AppOptions } from '../context.js';
import { HttpError } from '../errors.js';

const listRoute = createRoute({
  method: 'get',
  path: '/api/fruits',
  summary: 'Species the app knows and every class it can answer',
  responses: { 200: json('Fruits and classes', fruitsListSchema) },
});

const oneRoute = createRoute({
  method: 'get',
  path: '/api/fruits/{id}',
  summary: 'One species',
  request: { params: z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, description: 'a fruitId of GET /api/fruits' }) }) },
  responses: { 200: json('The fruit card and its classes', fruitDetailSchema), 404: errorResponse('Unknown fruit id') },
});

/**
 * GET /api/fruits: the species the run can recognise and every class (for the "tell us the right fruit"
 * list); GET /api/fruits/:id: one species' card and its classes.
 */
export function registerFruits(app: OpenAPIHono, options: AppOptions): void {
  const classes = (): z.infer<typeof classEntrySchema>[] =>
    options.identifier.classes.map((className) => {
      const entry = options.directory.forClass(className);
      return { class: className, fruitId: entry.fruit?.id, label: entry.label };
    });

  app.openapi(listRoute, (c) => {
    const list = classes();
    const ids = new Set(list.map((x) => x.fruitId).filter((id): id is string => id !== undefined));
    const fruits = [...ids].map((id) => options.directory.species(id)).filter((f) => f !== undefined);
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ fruits, classes: list }, 200);
  });

  app.openapi(oneRoute, (c) => {
    const { id } = c.req.valid('param');
    const fruit = options.directory.species(id);
    if (!fruit) throw new HttpError(404, 'not-found', `no fruit with id ${JSON.stringify(id)}; GET /api/fruits lists them`);
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ fruit, classes: classes().filter((x) => x.fruitId === id) }, 200);
  });
}
