-- nvim-test.lua — run by editors_test.go as
--   nvim --headless -u NONE -i NONE -n -c 'luafile editors/testdata/nvim-test.lua'
-- It loads the shipped editors/nvim/pelato.lua, opens the broken project's
-- workflow.yaml and tasks/convert.go, and writes what the real pelato-lsp
-- told the editor to $PELATO_OUT as JSON. Any failure is written there as
-- {"error": ...} and Neovim exits 1.
--
-- Environment: PELATO_REPO (repository root), PELATO_LSP (server binary),
-- PELATO_PROJECT (the project folder), PELATO_OUT (JSON result file),
-- PELATO_TIMEOUT_MS (per wait, default 20000).

local env = vim.env
local timeout = tonumber(env.PELATO_TIMEOUT_MS or '') or 20000
local out = {}
local raw = {} -- uri -> latest raw LSP diagnostics
local publishes = 0 -- publishDiagnostics notifications received
local log = {} -- window/logMessage and showMessage texts, for debugging
local t0 = vim.loop.hrtime()
-- mark records the milliseconds since the start at which a step finished.
local function mark(step)
  out.timings = out.timings or {}
  out.timings[step] = math.floor((vim.loop.hrtime() - t0) / 1e6)
end

local function write(result)
  local f = assert(io.open(env.PELATO_OUT, 'w'))
  f:write(vim.fn.json_encode(result))
  f:close()
end

local function rel(path)
  local root = env.PELATO_PROJECT
  if path:sub(1, #root + 1) == root .. '/' then
    return path:sub(#root + 2)
  end
  return path
end

local function main()
  local pelato = dofile(env.PELATO_REPO .. '/editors/nvim/pelato.lua')
  local default_diag = vim.lsp.handlers['textDocument/publishDiagnostics']
  pelato.setup({
    cmd = { env.PELATO_LSP },
    handlers = {
      ['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
        raw[result.uri] = result.diagnostics
        publishes = publishes + 1
        return default_diag(err, result, ctx, config)
      end,
      ['window/logMessage'] = function(_, result)
        table.insert(log, result.message)
      end,
      ['window/showMessage'] = function(_, result)
        table.insert(log, result.message)
      end,
    },
  })

  local project = env.PELATO_PROJECT
  local wf = project .. '/workflow.yaml'
  local task = project .. '/tasks/convert.go'

  -- Open the task file first, then the workflow (left current).
  vim.cmd('edit ' .. vim.fn.fnameescape(task))
  local task_buf = vim.api.nvim_get_current_buf()
  vim.cmd('edit ' .. vim.fn.fnameescape(wf))
  local buf = vim.api.nvim_get_current_buf()
  -- Clients count as attached once the server has answered initialize.
  assert(vim.wait(timeout, function()
    return next(vim.lsp.buf_get_clients(buf)) ~= nil and next(vim.lsp.buf_get_clients(task_buf)) ~= nil
  end, 20), 'pelato.lua did not attach an initialized client to both workflow.yaml and tasks/convert.go')
  mark('initialized')
  local client_id = next(vim.lsp.buf_get_clients(buf))
  assert(vim.lsp.buf_get_clients(task_buf)[client_id] ~= nil, 'workflow.yaml and tasks/convert.go got different servers')
  local client = vim.lsp.get_client_by_id(client_id)

  local wf_uri = vim.uri_from_bufnr(buf)
  local task_uri = vim.uri_from_bufnr(task_buf)
  local function has_code(uri, code)
    for _, d in ipairs(raw[uri] or {}) do
      if d.code == code then
        return true
      end
    end
    return false
  end

  -- pelato.lua's on_attach: omnifunc for <C-x><C-o>, code lenses shown.
  out.omnifunc = vim.bo[buf].omnifunc
  vim.lsp.codelens.refresh()
  assert(vim.wait(timeout, function()
    return #vim.lsp.codelens.get(buf) > 0
  end, 20), 'no code lenses for workflow.yaml')
  out.lenses = {}
  for _, l in ipairs(vim.lsp.codelens.get(buf)) do
    if l.command then
      table.insert(out.lenses, l.command.title)
    end
  end
  table.sort(out.lenses)
  mark('codelens')

  -- 1. Diagnostics pushed on open, for both files.
  assert(vim.wait(timeout, function()
    return has_code(wf_uri, 'PL201') and raw[task_uri] ~= nil and #raw[task_uri] > 0
  end, 20), 'no PL201 diagnostic on workflow.yaml and none on tasks/convert.go within the timeout')
  -- Settle: the server may publish again (e.g. once the task checks finish);
  -- take the diagnostics after 300 ms without a new publication.
  repeat
    local seen = publishes
    vim.wait(300)
  until publishes == seen
  mark('diagnostics')
  -- What Neovim itself holds (vim.diagnostic), converted back to LSP's 0-based
  -- positions, must match what the server sent.
  out.diagnostics = {}
  for _, b in ipairs({ buf, task_buf }) do
    for _, d in ipairs(vim.diagnostic.get(b)) do
      table.insert(out.diagnostics, {
        file = rel(vim.api.nvim_buf_get_name(b)),
        code = d.code,
        source = d.source,
        severity = d.severity,
        line = d.lnum,
        col = d.col,
        end_line = d.end_lnum,
        end_col = d.end_col,
        message = d.message,
      })
    end
  end
  table.sort(out.diagnostics, function(a, b)
    if a.file ~= b.file then return a.file < b.file end
    if a.line ~= b.line then return a.line < b.line end
    if a.col ~= b.col then return a.col < b.col end
    return (a.code or '') < (b.code or '')
  end)
  -- The raw range of each diagnostic, in UTF-16 code units as sent.
  out.raw = {}
  for _, uri in ipairs({ wf_uri, task_uri }) do
    for _, d in ipairs(raw[uri]) do
      table.insert(out.raw, {
        file = rel(vim.uri_to_fname(uri)),
        code = d.code,
        start = { d.range.start.line, d.range.start.character },
        ['end'] = { d.range['end'].line, d.range['end'].character },
      })
    end
  end

  -- The PL201 diagnostic.
  local pl201
  for _, d in ipairs(raw[wf_uri]) do
    if d.code == 'PL201' then
      pl201 = d
    end
  end
  local line = pl201.range.start.line
  local text = vim.api.nvim_buf_get_lines(buf, line, line + 1, true)[1]
  out.broken_line = text

  -- 2. Completion right after "type: " on that line.
  local col = assert(text:find('type: ', 1, true), 'no "type: " on the PL201 line') + #'type: ' - 1
  local params = {
    textDocument = { uri = wf_uri },
    position = { line = line, character = col },
    context = { triggerKind = 1 },
  }
  local resp, err = vim.lsp.buf_request_sync(buf, 'textDocument/completion', params, timeout)
  assert(resp ~= nil, 'completion: ' .. tostring(err))
  local r = resp[client_id] or {}
  assert(r.err == nil, 'completion error: ' .. vim.inspect(r.err))
  local items = r.result or {}
  if items.items then
    items = items.items
  end
  out.completion = {}
  for _, it in ipairs(items) do
    table.insert(out.completion, it.label)
  end
  table.sort(out.completion)
  mark('completion')

  -- 3. Code actions for the PL201 diagnostic; apply the preferred quick fix.
  params = {
    textDocument = { uri = wf_uri },
    range = pl201.range,
    context = { diagnostics = { pl201 }, only = { 'quickfix' } },
  }
  resp, err = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', params, timeout)
  assert(resp ~= nil, 'codeAction: ' .. tostring(err))
  r = resp[client_id] or {}
  assert(r.err == nil, 'codeAction error: ' .. vim.inspect(r.err))
  out.code_actions = {}
  -- The preferred quick fix, else the first one.
  local fix
  for _, a in ipairs(r.result or {}) do
    table.insert(out.code_actions, { title = a.title, kind = a.kind, preferred = a.isPreferred == true })
    if (a.kind == nil or a.kind:match('^quickfix')) and (fix == nil or (a.isPreferred and not fix.isPreferred)) then
      fix = a
    end
  end
  assert(fix ~= nil, 'no quick fix offered for PL201')
  if fix.edit == nil and fix.command == nil and client.supports_method('codeAction/resolve') then
    local res = client.request_sync('codeAction/resolve', fix, timeout, buf)
    fix = (res and res.result) or fix
  end
  if fix.edit ~= nil then
    vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding or 'utf-16')
  end
  if fix.command ~= nil then
    local cmd = type(fix.command) == 'table' and fix.command or fix
    local res = client.request_sync('workspace/executeCommand',
      { command = cmd.command, arguments = cmd.arguments }, timeout, buf)
    assert(res ~= nil and res.err == nil, 'executeCommand: ' .. vim.inspect(res))
  end
  out.fixed_line = vim.api.nvim_buf_get_lines(buf, line, line + 1, true)[1]
  mark('code_action')

  -- 4. The server sees the edit (didChange) and drops PL201.
  local gone = vim.wait(timeout, function()
    return not has_code(wf_uri, 'PL201')
  end, 20)
  out.pl201_cleared = gone
  mark('cleared')

  vim.lsp.stop_client(client_id)
  out.server_exited = vim.wait(5000, function()
    return vim.lsp.get_client_by_id(client_id) == nil
  end, 20)
  mark('stopped')

  -- Neovim files everything a server writes to stderr as an error in its log:
  -- pelato-lsp logs through window/logMessage instead, so there is none.
  out.stderr_lines = 0
  local f = io.open(vim.lsp.get_log_path(), 'r')
  if f ~= nil then
    for l in f:lines() do
      if l:find('"stderr"', 1, true) then
        out.stderr_lines = out.stderr_lines + 1
      end
    end
    f:close()
  end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  out.error = tostring(err)
  out.log = log
  -- The tail of Neovim's LSP log (it holds the server's stderr).
  local f = io.open(vim.lsp.get_log_path(), 'r')
  if f ~= nil then
    local text = f:read('*a')
    f:close()
    out.lsp_log = text:sub(-4000)
  end
  write(out)
  vim.cmd('cquit 1')
else
  write(out)
  vim.cmd('qall!')
end
