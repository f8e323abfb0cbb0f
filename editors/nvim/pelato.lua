-- pelato.lua — Neovim (0.7 or later) configuration for pelato-lsp, the pelato
-- language server, using only Neovim's built-in LSP client (no plugins).
--
-- It starts one `pelato-lsp` per pelato project (the folder holding
-- workflow.yaml) and attaches it to that project's workflow.yaml and to the
-- Go task files under its tasks/ folder. Diagnostics, completion, hover, code
-- actions and the rest then work through the usual vim.lsp functions.
--
-- Use, from init.lua (with this file on 'runtimepath' under lua/):
--
--   require('pelato').setup()                       -- defaults
--   require('pelato').setup({ cmd = { '/path/to/pelato-lsp' } })
--
-- On attach it sets 'omnifunc' to vim.lsp.omnifunc (so <C-x><C-o> completes) and,
-- unless codelens = false, shows the server's code lenses ("Generate", "Invoke…")
-- and keeps them fresh; :lua vim.lsp.codelens.run() runs the lens on the cursor line.
-- Your own on_attach runs after that.
--
-- or without copying it anywhere:
--
--   dofile('/path/to/pelato.lua').setup()
--
-- Neovim 0.7 has no vim.lsp.start, so this uses vim.lsp.start_client and
-- vim.lsp.buf_attach_client, which later versions still provide.
--
-- The pipeline: the server offers its commands (generate, build, push, deploy,
-- remove, invoke, … — whatever it advertises) as source code actions, so
-- vim.lsp.buf.code_action() lists them for the task under the cursor and for the
-- whole workflow. setup() also defines user commands that run them directly:
--
--   :PelatoGen[!]  :PelatoBuild[!]  :PelatoPush[!]  :PelatoDeploy[!]
--   :PelatoRemove[!]  :PelatoStatus[!]  :PelatoInvoke [input]
--   :Pelato[!] {verb} [input]   any pelato.<verb> the server advertises
--   :PelatoCancel               cancel the commands still running
--
-- Without a bang a command acts on the task under the cursor (in workflow.yaml)
-- or on the task(s) whose code is the current Go file; with a bang on the whole
-- workflow. :PelatoInvoke asks for the input unless given. Progress arrives
-- through Neovim's standard $/progress handler (echoed unless progress = false);
-- the outcome through window/showMessage.

local M = {}

--- Defaults; setup() merges its argument over them.
M.config = {
  -- The server command and its arguments.
  cmd = { 'pelato-lsp' },
  -- Name shown by :LspInfo-like tools and in log messages.
  name = 'pelato',
  -- Show code lenses and refresh them on BufEnter, CursorHold and InsertLeave
  -- (Neovim does not request them by itself).
  codelens = true,
  -- Called after pelato's own on_attach (omnifunc, code lenses).
  on_attach = nil,
  -- Called when the client has initialized, after pelato's own handlers.
  on_init = nil,
  -- Passed to vim.lsp.start_client as they are (nil = Neovim's defaults).
  capabilities = nil,
  handlers = nil,
  settings = nil,
  init_options = nil,
  flags = { debounce_text_changes = 150 },
  -- Define :Pelato, :PelatoGen, … (see above).
  commands = true,
  -- Echo the server's progress messages as they arrive.
  progress = true,
}

-- Client ids by project root, so each project gets one server.
local clients = {}

local uv = vim.loop

local function is_file(path)
  local st = uv.fs_stat(path)
  return st ~= nil and st.type == 'file'
end

local function dirname(path)
  return vim.fn.fnamemodify(path, ':h')
end

--- Returns the pelato project root of the file at path (the folder holding
--- workflow.yaml) and the language id of the file ('yaml' or 'go'), or nil
--- when the file is neither a project's workflow.yaml nor a Go file under a
--- project's tasks/ folder.
function M.root_of(path)
  if path == nil or path == '' then
    return nil
  end
  path = vim.fn.fnamemodify(path, ':p')
  if vim.fn.fnamemodify(path, ':t') == 'workflow.yaml' then
    return dirname(path), 'yaml'
  end
  if not path:match('%.go$') then
    return nil
  end
  -- Walk up: a task file is <root>/tasks/<file>.go or <root>/tasks/<dir>/.../<file>.go.
  local dir = dirname(path)
  while true do
    local parent = dirname(dir)
    if vim.fn.fnamemodify(dir, ':t') == 'tasks' and is_file(parent .. '/workflow.yaml') then
      return parent, 'go'
    end
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

-- Whether the client's server offers code lenses (Neovim 0.7 and 0.8+ spell it
-- differently).
local function has_codelens(client)
  local caps = client.server_capabilities or {}
  local resolved = client.resolved_capabilities or {}
  return caps.codeLensProvider ~= nil or resolved.code_lens == true
end

-- on_attach sets up a buffer pelato-lsp attached to, then calls the user's.
local function on_attach(client, bufnr)
  vim.api.nvim_buf_set_option(bufnr, 'omnifunc', 'v:lua.vim.lsp.omnifunc')
  if M.config.codelens and has_codelens(client) then
    local group = vim.api.nvim_create_augroup('pelato_codelens_' .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd({ 'BufEnter', 'CursorHold', 'InsertLeave' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        vim.lsp.codelens.refresh()
      end,
    })
    if bufnr == vim.api.nvim_get_current_buf() then
      vim.lsp.codelens.refresh()
    end
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

local function client_for(root)
  local id = clients[root]
  if id ~= nil then
    local client = vim.lsp.get_client_by_id(id)
    if client ~= nil and not client.is_stopped() then
      return id
    end
  end
  local c = M.config
  id = vim.lsp.start_client({
    name = c.name,
    cmd = c.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    capabilities = c.capabilities,
    handlers = c.handlers,
    settings = c.settings,
    init_options = c.init_options,
    flags = c.flags,
    on_attach = on_attach,
    on_init = function(client, result)
      -- Client-side handlers for the server's commands, so that code actions and
      -- lenses run through M.execute (input prompt for pelato.invoke, :PelatoCancel).
      for _, name in ipairs(M.server_commands(client)) do
        client.commands[name] = function(command, ctx)
          M.execute(client, command, ctx.bufnr)
        end
      end
      if c.on_init then
        c.on_init(client, result)
      end
    end,
    -- The language id does not depend on the buffer's 'filetype' (which may
    -- be empty when filetype detection is off).
    get_language_id = function(bufnr)
      local _, lang = M.root_of(vim.api.nvim_buf_get_name(bufnr))
      return lang or 'yaml'
    end,
    on_exit = function()
      if clients[root] == id then
        clients[root] = nil
      end
    end,
  })
  clients[root] = id
  return id
end

--- Attaches pelato-lsp to buffer bufnr (0 or nil = current) when it is a
--- pelato workflow.yaml or task file, starting the project's server if
--- needed. Returns the client id, or nil when the buffer is not pelato's.
function M.attach(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  if vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local root = M.root_of(vim.api.nvim_buf_get_name(bufnr))
  if root == nil then
    return nil
  end
  local id = client_for(root)
  if id ~= nil then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- Returns the initialized pelato client serving buffer bufnr (0 or nil =
--- current), or nil and the reason there is none.
function M.client(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local root = M.root_of(vim.api.nvim_buf_get_name(bufnr))
  local id = root and clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if client == nil or client.is_stopped() or not vim.lsp.buf_is_attached(bufnr, id) then
    return nil, 'this buffer is not a pelato workflow.yaml or task file served by pelato-lsp'
  end
  if not client.initialized then
    return nil, 'pelato-lsp is still starting; try again in a moment'
  end
  return client
end

--- Returns the commands the server advertises (executeCommandProvider), sorted.
function M.server_commands(client)
  local caps = client.server_capabilities or {}
  local provider = caps.executeCommandProvider or {}
  local names = vim.deepcopy(provider.commands or {})
  table.sort(names)
  return names
end

--- Returns the verbs of the pelato.<verb> commands the server advertises.
function M.verbs(client)
  local out = {}
  for _, name in ipairs(M.server_commands(client)) do
    local verb = name:match('^pelato%.(.+)$')
    if verb ~= nil and verb ~= 'createFile' then
      table.insert(out, verb)
    end
  end
  return out
end

-- Requests in flight started through M.execute: request id -> client.
local running = {}

local function notify(msg, level)
  vim.notify('pelato: ' .. msg, level or vim.log.levels.INFO)
end

--- Runs a server command (a Command object: command, arguments) on client
--- through workspace/executeCommand. pelato.invoke without an input asks for it
--- first. on_done(err, result), when given, is called with the outcome; the
--- server itself shows the outcome (window/showMessage).
function M.execute(client, command, bufnr, on_done)
  local args = (command.arguments or {})[1]
  if command.command == 'pelato.invoke' and type(args) == 'table' and args.input == nil then
    vim.ui.input({ prompt = 'pelato: input for ' .. (args.task or 'the task') .. ': ' }, function(input)
      if input == nil then
        return -- the prompt was cancelled
      end
      local with_input = vim.deepcopy(command)
      with_input.arguments[1].input = input
      M.execute(client, with_input, bufnr, on_done)
    end)
    return
  end
  local params = { command = command.command, arguments = command.arguments }
  local id
  local ok, req = client.request('workspace/executeCommand', params, function(err, result)
    if id ~= nil then
      running[id] = nil
    end
    -- A failure the server reported itself (RequestFailed, -32803) or a
    -- cancellation (-32800) was already shown through window/showMessage.
    if err ~= nil and err.code ~= -32803 and err.code ~= -32800 then
      notify(command.command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    if on_done then
      on_done(err, result)
    end
  end, bufnr)
  if ok and req ~= nil then
    id = req
    running[id] = client
  elseif not ok then
    notify('the server is not running', vim.log.levels.ERROR)
  end
end

--- Cancels every command started through M.execute that is still running.
function M.cancel()
  local n = 0
  for id, client in pairs(running) do
    client.cancel_request(id)
    running[id] = nil
    n = n + 1
  end
  notify(n == 0 and 'no command is running' or ('cancelled ' .. n .. ' command(s)'))
end

--- Runs pelato.<verb> for the task under the cursor of buffer opts.bufnr (0 =
--- current), or for the whole workflow when opts.all is set. The server names
--- the tasks: its source code actions of kind source.pelato.<verb> at the
--- cursor. When several tasks share a task file, vim.ui.select picks one.
--- opts.input is pelato.invoke's input (asked for when nil); opts.on_done is
--- passed to M.execute.
function M.run(verb, opts)
  opts = opts or {}
  local bufnr = opts.bufnr
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local client, why = M.client(bufnr)
  if client == nil then
    notify(why, vim.log.levels.ERROR)
    return
  end
  local name = 'pelato.' .. verb
  if not vim.tbl_contains(M.server_commands(client), name) then
    notify(('the server does not offer %s (it offers: %s)'):format(name, table.concat(M.verbs(client), ', ')),
      vim.log.levels.ERROR)
    return
  end
  local win = vim.fn.bufwinid(bufnr)
  local params = vim.lsp.util.make_range_params(win ~= -1 and win or 0, client.offset_encoding)
  params.textDocument = { uri = vim.uri_from_bufnr(bufnr) }
  params.context = { diagnostics = {}, only = { 'source.pelato.' .. verb } }
  client.request('textDocument/codeAction', params, function(err, actions)
    if err ~= nil then
      notify('code actions: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local task_cmds, all_cmd = {}, nil
    for _, a in ipairs(actions or {}) do
      local cmd = type(a.command) == 'table' and a.command or a
      local args = (cmd.arguments or {})[1]
      if cmd.command == name and type(args) == 'table' then
        if args.task ~= nil and args.task ~= '' then
          table.insert(task_cmds, cmd)
        else
          all_cmd = cmd
        end
      end
    end
    local function go(cmd)
      cmd = vim.deepcopy(cmd)
      if opts.input ~= nil then
        cmd.arguments[1].input = opts.input
      end
      M.execute(client, cmd, bufnr, opts.on_done)
    end
    if opts.all then
      if all_cmd == nil then
        notify(name .. ' runs for one task only: use it without !', vim.log.levels.ERROR)
        return
      end
      return go(all_cmd)
    end
    if #task_cmds == 0 then
      local hint = all_cmd and (' (:Pelato! ' .. verb .. ' runs it for the whole workflow)') or ''
      notify('no task under the cursor' .. hint, vim.log.levels.ERROR)
      return
    end
    if #task_cmds == 1 then
      return go(task_cmds[1])
    end
    vim.ui.select(task_cmds, {
      prompt = name .. ': which task?',
      format_item = function(cmd)
        return cmd.arguments[1].task
      end,
    }, function(cmd)
      if cmd ~= nil then
        go(cmd)
      end
    end)
  end, bufnr)
end

-- The named user commands: verb and command name.
local named = {
  { 'gen', 'PelatoGen' },
  { 'build', 'PelatoBuild' },
  { 'push', 'PelatoPush' },
  { 'deploy', 'PelatoDeploy' },
  { 'remove', 'PelatoRemove' },
  { 'status', 'PelatoStatus' },
  { 'invoke', 'PelatoInvoke' },
}

local function define_commands()
  for _, v in ipairs(named) do
    local verb = v[1]
    vim.api.nvim_create_user_command(v[2], function(c)
      M.run(verb, { all = c.bang, input = (verb == 'invoke' and c.args ~= '') and c.args or nil })
    end, {
      bang = true,
      nargs = verb == 'invoke' and '?' or 0,
      desc = 'pelato: run pelato.' .. verb .. ' for the task under the cursor (! for the whole workflow)',
    })
  end
  vim.api.nvim_create_user_command('Pelato', function(c)
    local verb, input = c.args:match('^(%S+)%s*(.-)$')
    -- :Pelato! {verb} or :Pelato {verb}! for the whole workflow.
    local all = c.bang or verb:sub(-1) == '!'
    verb = verb:gsub('!$', '')
    M.run(verb, { all = all, input = input ~= '' and input or nil })
  end, {
    bang = true,
    nargs = '+',
    desc = 'pelato: run pelato.{verb} for the task under the cursor (! for the whole workflow)',
    complete = function(arglead)
      local client = M.client(0)
      if client == nil then
        return {}
      end
      return vim.tbl_filter(function(v)
        return v:sub(1, #arglead) == arglead
      end, M.verbs(client))
    end,
  })
  vim.api.nvim_create_user_command('PelatoCancel', function()
    M.cancel()
  end, { desc = 'pelato: cancel the pelato commands still running' })
end

-- The progress line last echoed, by client id and token.
local echoed = {}

-- Echoes the progress messages of the pelato clients that changed since the
-- last update (the standard handler keeps them in client.messages.progress).
local function echo_progress()
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == M.config.name then
      echoed[client.id] = echoed[client.id] or {}
      local seen = echoed[client.id]
      for token, p in pairs(client.messages.progress) do
        if p.title ~= nil then
          local msg = p.title
          if p.message ~= nil and p.message ~= '' and p.message:sub(1, #p.title) ~= p.title then
            msg = msg .. ': ' .. p.message
          elseif p.message ~= nil and p.message ~= '' then
            msg = p.message
          end
          if p.percentage ~= nil and not p.done then
            msg = msg .. (' (%d%%)'):format(p.percentage)
          end
          if seen[token] ~= msg then
            seen[token] = msg
            vim.api.nvim_echo({ { msg } }, false, {})
          end
        end
      end
    end
  end
end

--- Configures pelato-lsp: merges opts over M.config and attaches the server
--- to every pelato file opened from now on (and to those already open).
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', M.config, opts or {})
  local group = vim.api.nvim_create_augroup('pelato_lsp', { clear = true })
  if M.config.commands then
    define_commands()
  end
  if M.config.progress then
    vim.api.nvim_create_autocmd('User', { group = group, pattern = 'LspProgressUpdate', callback = echo_progress })
  end
  vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
    group = group,
    pattern = { 'workflow.yaml', '*.go' },
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.attach(bufnr)
    end
  end
  return M
end

return M
