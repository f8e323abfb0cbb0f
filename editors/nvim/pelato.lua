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
  -- Passed to vim.lsp.start_client as they are (nil = Neovim's defaults).
  capabilities = nil,
  handlers = nil,
  settings = nil,
  init_options = nil,
  flags = { debounce_text_changes = 150 },
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

--- Configures pelato-lsp: merges opts over M.config and attaches the server
--- to every pelato file opened from now on (and to those already open).
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', M.config, opts or {})
  local group = vim.api.nvim_create_augroup('pelato_lsp', { clear = true })
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
