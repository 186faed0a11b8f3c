import { escapeHtml } from './text';

/**
 * The shell of the small pages the Function App answers links with (snooze, decide): a phone-ready
 * viewport, no indexing, the page's own style inline (their CSP allows inline style and nothing
 * else), and the body in one `<main>`.
 */
export function htmlPage(title: string, style: string, main: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Entra Sync Watch</title>
<style>${style}</style>
</head>
<body><main>
${main}
</main></body>
</html>
`;
}
