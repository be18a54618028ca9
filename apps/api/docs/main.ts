// The API reference page's script: Swagger UI over /openapi.json, from swagger-ui-dist (npm),
// bundled with it by bundle.assets.mjs so that nothing comes from another origin.
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-bundle.js';

SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // Try it out: the times as the examples give them, the token (Authorize) when API_TOKEN is set.
  tryItOutEnabled: true,
  persistAuthorization: true,
});
