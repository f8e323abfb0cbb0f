-- nvim-commands.lua — run by editors_test.go (TestNeovimCommands) as
--   nvim --headless -u NONE -i NONE -n -c 'luafile editors/testdata/nvim-commands.lua'
-- It loads the shipped editors/nvim/pelato.lua on a clean copy of
-- examples/temperature and drives the pipeline as a user would:
--   1. vim.lsp.buf.code_action() in tasks/filter.go, picking the source action
--      "pelato: Generate task temp_filter" from the menu (vim.ui.select);
--   2. :PelatoGen on a task of workflow.yaml, :PelatoGen! for the whole workflow;
--   3. :PelatoInvoke in tasks/convert.go, answering the input prompt;
--   4. :Pelato! check, an unknown verb, :PelatoGen outside any task,
--      :PelatoInvoke! (invoke needs a task) and :PelatoCancel with nothing running.
-- It writes what it saw to $PELATO_OUT as JSON; the Go test checks gen/ on disk.
-- Any failure is written there as {"error": ...} and Neovim exits 1.
--
-- Environment: as nvim-test.lua.

local env = vim.env
local timeout = tonumber(env.PELATO_TIMEOUT_MS or '') or 20000
local out = { messages = {}, progress = {}, notes = {}, menu = {}, prompts = {}, results = {} }
local log = {}

local function write(result)
  local f = assert(io.open(env.PELATO_OUT, 'w'))
  f:write(vim.fn.json_encode(result))
  f:close()
end

local function exists(path)
  return vim.loop.fs_stat(path) ~= nil
end

local function wait(what, cond)
  assert(vim.wait(timeout, cond, 20), 'timed out waiting for ' .. what .. '; messages: ' .. vim.inspect(out.messages)
    .. '; notes: ' .. vim.inspect(out.notes))
end

local function has_message(s)
  for _, m in ipairs(out.messages) do
    if m:find(s, 1, true) then
      return true
    end
  end
  return false
end

local function has_note(s)
  for _, m in ipairs(out.notes) do
    if m:find(s, 1, true) then
      return true
    end
  end
  return false
end

-- Puts the cursor of the current window on the first line containing s.
local function cursor_on(s)
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, true)
  for i, l in ipairs(lines) do
    local col = l:find(s, 1, true)
    if col then
      vim.api.nvim_win_set_cursor(0, { i, col - 1 })
      return
    end
  end
  error('no line contains ' .. s)
end

local function main()
  local pelato = dofile(env.PELATO_REPO .. '/editors/nvim/pelato.lua')
  -- What the user would see: notifications, and the answers given to prompts.
  vim.notify = function(msg)
    table.insert(out.notes, msg)
  end
  local pick -- the menu entry vim.ui.select chooses
  vim.ui.select = function(items, opts, on_choice)
    local choice
    for _, it in ipairs(items) do
      local label = opts.format_item and opts.format_item(it) or tostring(it)
      table.insert(out.menu, label)
      if label == pick then
        choice = it
      end
    end
    on_choice(choice)
  end
  local answer -- what vim.ui.input answers
  vim.ui.input = function(opts, on_confirm)
    table.insert(out.prompts, opts.prompt)
    on_confirm(answer)
  end

  pelato.setup({
    cmd = { env.PELATO_LSP },
    handlers = {
      ['window/showMessage'] = function(_, result)
        table.insert(out.messages, result.message)
      end,
      ['window/logMessage'] = function(_, result)
        table.insert(log, result.message)
      end,
    },
  })
  -- Progress through the standard $/progress handler: record what it holds.
  vim.api.nvim_create_autocmd('User', {
    pattern = 'LspProgressUpdate',
    callback = function()
      for _, client in pairs(vim.lsp.get_active_clients()) do
        for _, p in pairs(client.messages.progress) do
          if p.title then
            table.insert(out.progress, { title = p.title, message = p.message or '', done = p.done == true })
          end
        end
      end
    end,
  })

  local project = env.PELATO_PROJECT
  local gen = project .. '/gen/'

  -- 1. The source action from vim.lsp.buf.code_action() in a task file.
  vim.cmd('edit ' .. vim.fn.fnameescape(project .. '/tasks/filter.go'))
  wait('pelato-lsp to attach to tasks/filter.go', function()
    return pelato.client(0) ~= nil
  end)
  local client = pelato.client(0)
  out.verbs = pelato.verbs(client)
  cursor_on('exec_task')
  pick = 'pelato: Generate task temp_filter'
  vim.lsp.buf.code_action()
  wait('gen/temp_filter from the source action', function()
    return exists(gen .. 'temp_filter/wadm.yaml')
  end)
  out.source_action_generated = not exists(gen .. 'celsius_to_kelvin_conversion')

  -- 2. :PelatoGen on a task of workflow.yaml, then :PelatoGen! for all.
  vim.cmd('edit ' .. vim.fn.fnameescape(project .. '/workflow.yaml'))
  wait('pelato-lsp to attach to workflow.yaml', function()
    return pelato.client(0) ~= nil
  end)
  cursor_on('celsius_to_kelvin_conversion')
  vim.cmd('PelatoGen')
  wait('gen/celsius_to_kelvin_conversion from :PelatoGen', function()
    return exists(gen .. 'celsius_to_kelvin_conversion/wadm.yaml')
  end)
  wait('the outcome of :PelatoGen', function()
    return has_message('pelato: Generate: generated 1 component')
  end)
  vim.cmd('PelatoGen!')
  wait('the outcome of :PelatoGen!', function()
    return has_message('pelato: Generate: gen/ is up to date: 2 components unchanged')
  end)

  -- 3. :PelatoInvoke in a task file asks for the input.
  vim.cmd('edit ' .. vim.fn.fnameescape(project .. '/tasks/convert.go'))
  wait('pelato-lsp to attach to tasks/convert.go', function()
    return pelato.client(0) ~= nil
  end)
  answer = '21.5'
  vim.cmd('PelatoInvoke')
  wait('the result of :PelatoInvoke', function()
    return has_message('pelato: Invoke: 294.65')
  end)
  -- With the input given on the command line, through the generic :Pelato.
  pelato.run('invoke', { input = '0', on_done = function(err, result)
    table.insert(out.results, err and ('error: ' .. err.message) or result)
  end })
  wait('the result of pelato.run("invoke")', function()
    return #out.results > 0
  end)

  -- 4. The generic command, an unknown verb, and no task under the cursor.
  vim.cmd('Pelato! check')
  wait('the outcome of :Pelato! check', function()
    return has_message('pelato: Check: ')
  end)
  vim.cmd('Pelato frobnicate')
  wait('the refusal of an unknown verb', function()
    return has_note('does not offer pelato.frobnicate')
  end)
  vim.cmd('edit ' .. vim.fn.fnameescape(project .. '/workflow.yaml'))
  cursor_on('project_name')
  vim.cmd('PelatoGen')
  wait('the refusal outside a task', function()
    return has_note('no task under the cursor')
  end)
  vim.cmd('PelatoInvoke!')
  wait('the refusal of :PelatoInvoke!', function()
    return has_note('pelato.invoke runs for one task only')
  end)
  vim.cmd('PelatoCancel')
  wait(':PelatoCancel', function()
    return has_note('no command is running')
  end)
  out.user_commands = {}
  for _, name in ipairs({ 'Pelato', 'PelatoGen', 'PelatoBuild', 'PelatoPush', 'PelatoDeploy', 'PelatoRemove',
    'PelatoStatus', 'PelatoInvoke', 'PelatoCancel' }) do
    out.user_commands[name] = vim.fn.exists(':' .. name) == 2
  end

  vim.lsp.stop_client(client.id)
  vim.wait(5000, function()
    return vim.lsp.get_client_by_id(client.id) == nil
  end, 20)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  out.error = tostring(err)
  out.log = log
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
