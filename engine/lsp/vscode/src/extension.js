// The Layak extension: starts `layak lsp` (a language server over stdio) for
// `.lyk` files and restarts it when its settings change. Everything the
// editor knows about the rules (diagnostics, hover, completion, definitions,
// rename, formatting, ...) comes from the server; highlighting comes from
// the TextMate grammar in syntaxes/, which needs no server.
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

const NAME = "Layak";
const INSTALL_HINT =
  "Install it from a clone of the Layak repository with `cargo install --path engine --locked`, " +
  "or set `layak.server.path` to the binary (e.g. target/debug/layak).";

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.LogOutputChannel | undefined} */
let output;

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  output = vscode.window.createOutputChannel(NAME, { log: true });
  context.subscriptions.push(output);
  context.subscriptions.push(
    vscode.commands.registerCommand("layak.restartServer", () => restart()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("layak.server") || e.affectsConfiguration("layak.asOf")) {
        void restart();
      }
    }),
  );
  await start();
}

async function deactivate() {
  await stop();
}

async function restart() {
  await stop();
  await start();
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (err) {
      output?.warn(`stopping the server: ${message(err)}`);
    }
  }
}

async function start() {
  const config = vscode.workspace.getConfiguration("layak.server");
  const configured = config.get("path", "layak") || "layak";
  const args = config.get("args", ["lsp"]);
  const command = resolveCommand(configured);
  if (!command) {
    output?.error(`the server binary \`${configured}\` was not found (PATH: ${process.env.PATH ?? ""})`);
    const choice = await vscode.window.showErrorMessage(
      `${NAME}: the language server \`${configured}\` was not found. ${INSTALL_HINT}`,
      "Open Settings",
      "Retry",
    );
    if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "layak.server");
    } else if (choice === "Retry") {
      await start();
    }
    return;
  }

  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const asOf = String(vscode.workspace.getConfiguration("layak").get("asOf", "") ?? "").trim();
  /** @type {import("vscode-languageclient/node").ServerOptions} */
  const serverOptions = {
    command,
    args: Array.isArray(args) ? args.map(String) : ["lsp"],
    transport: TransportKind.stdio,
    options: folder ? { cwd: folder } : {},
  };
  /** @type {import("vscode-languageclient/node").LanguageClientOptions} */
  const clientOptions = {
    // Files on disk only: a rule file's imports and tables are read beside it.
    documentSelector: [{ scheme: "file", language: "layak" }],
    outputChannel: output,
    // The date hover shows parameter values for; the server takes today
    // without one.
    initializationOptions: asOf ? { asOf } : {},
    synchronize: {
      // The server resolves imports and reads tables from disk: tell it when
      // a rule file or a table changes outside the editor.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{lyk,txt}"),
    },
  };
  const next = new LanguageClient("layak", NAME, serverOptions, clientOptions);
  client = next;
  output?.info(`starting ${command} ${serverOptions.args.join(" ")}`);
  try {
    await next.start();
  } catch (err) {
    if (client === next) {
      client = undefined;
    }
    output?.error(`the server failed to start: ${message(err)}`);
    void vscode.window.showErrorMessage(
      `${NAME}: \`${command} ${serverOptions.args.join(" ")}\` failed to start: ${message(err)}. ` +
        "Is it a Layak binary with the `lsp` command? See the Layak output for details.",
    );
  }
}

/**
 * The executable the setting names, or undefined when there is none: a path
 * (with `~` and `${workspaceFolder}` expanded; a relative one is taken from
 * the first workspace folder) or a bare name looked up on PATH, as the
 * operating system would.
 * @param {string} configured
 * @returns {string | undefined}
 */
function resolveCommand(configured) {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let value = configured.trim();
  if (value.startsWith("~/") || value === "~") {
    value = path.join(os.homedir(), value.slice(1));
  }
  value = value.replace(/\$\{workspaceFolder\}/g, folder ?? "");
  const hasSeparator = value.includes("/") || (process.platform === "win32" && value.includes("\\"));
  if (hasSeparator) {
    const full = path.isAbsolute(value) ? value : path.resolve(folder ?? process.cwd(), value);
    return candidates(full).find(isExecutable);
  }
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const found = candidates(path.join(dir, value)).find(isExecutable);
    if (found) {
      return found;
    }
  }
  return undefined;
}

/** On Windows a name may omit its extension (`layak` for `layak.exe`). */
function candidates(file) {
  if (process.platform !== "win32" || path.extname(file)) {
    return [file];
  }
  const exts = (process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").filter(Boolean);
  return [file, ...exts.map((ext) => file + ext.toLowerCase())];
}

function isExecutable(file) {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform !== "win32") {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

function message(err) {
  return err instanceof Error ? err.message : String(err);
}

module.exports = { activate, deactivate, resolveCommand };
