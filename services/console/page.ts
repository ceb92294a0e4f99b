import { CONSOLE_PATH } from "./paths.ts";

// The console's page and styles (routes.ts serves them). No inline script or style: the page's
// policy forbids both.

export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Platform console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${CONSOLE_PATH}/console.css">
<script type="module" src="${CONSOLE_PATH}/lib/browser/console.ts"></script>
</head>
<body>
<header><h1>Platform console</h1><span id="who"></span><button id="signout" type="button">Sign out</button></header>
<form id="signin">
  <label>API key <input id="key" type="password" autocomplete="off" placeholder="sk-..." required></label>
  <button type="submit">Sign in</button>
  <p class="error" id="signin-error"></p>
</form>
<main id="app" hidden>
  <section>
    <h2>Chat</h2>
    <form id="chat">
      <select id="model" aria-label="model"></select>
      <textarea id="prompt" rows="3" required placeholder="Ask something"></textarea>
      <button type="submit">Send</button>
    </form>
    <pre id="answer" aria-live="polite"></pre>
    <p class="meta" id="chat-meta"></p>
    <p class="error" id="chat-error"></p>
  </section>
  <section>
    <h2>Files</h2>
    <form id="upload">
      <input id="file" type="file" required>
      <select id="purpose" aria-label="purpose"><option>fine-tune</option><option>vision</option></select>
      <button type="submit">Upload</button>
    </form>
    <progress id="upload-progress" value="0" max="1"></progress>
    <p class="meta" id="upload-result"></p>
    <p class="error" id="files-error"></p>
    <ul id="files"></ul>
  </section>
  <section>
    <h2>Videos</h2>
    <form id="video">
      <input id="video-prompt" required placeholder="What the video is about">
      <input id="video-seconds" type="number" min="1" max="60" value="4" aria-label="seconds">
      <button type="submit">Make video</button>
    </form>
    <p class="error" id="videos-error"></p>
    <ul id="videos"></ul>
    <video id="player" controls hidden></video>
  </section>
  <section>
    <h2>Quota and usage <button id="refresh-usage" type="button">Refresh</button></h2>
    <p class="error" id="usage-error"></p>
    <div class="cols"><pre id="quota"></pre><pre id="usage"></pre></div>
  </section>
</main>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f6fa; }
body { margin: 0; }
header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.5rem; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
#signin, main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.5rem; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1rem; }
section, #signin { background: #fff; border-radius: .5rem; padding: 1rem 1.25rem; box-shadow: 0 1px 3px #0002; }
h2 { font-size: 1rem; margin-top: 0; }
form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
textarea, #video-prompt, #key { flex: 1 1 20rem; font: inherit; padding: .4rem; }
pre { white-space: pre-wrap; background: #f4f6fa; padding: .5rem; border-radius: .25rem; min-height: 2rem; max-height: 16rem; overflow: auto; }
progress { width: 100%; }
.error { color: #b3261e; min-height: 1em; margin: .25rem 0; }
.meta { color: #556; font-size: .85rem; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; }
ul { padding-left: 1.1rem; }
li progress { width: 8rem; margin-left: .5rem; }
video { width: 100%; margin-top: .5rem; }
[hidden] { display: none !important; }
`;
