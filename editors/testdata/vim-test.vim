" vim-test.vim — run by editors_test.go as
"   vim -N -u editors/testdata/vimrc -i NONE -n -es -S editors/testdata/vim-test.vim
" Opens the broken project's tasks/convert.go and workflow.yaml, lets ALE
" run the 'pelato' LSP linter from editors/vim/pelato.vim against the real
" pelato-lsp, waits for ALE's location list, and writes it to $PELATO_OUT as
" JSON. Failures are written there as {"error": ...} and Vim exits 1.
"
" Environment: PELATO_PROJECT (project folder), PELATO_OUT (JSON result
" file), PELATO_TIMEOUT_MS (per wait, default 20000); see vimrc for the rest.

let s:timeout = empty($PELATO_TIMEOUT_MS) ? 20000 : str2nr($PELATO_TIMEOUT_MS)

function! s:Write(obj) abort
    call writefile([json_encode(a:obj)], $PELATO_OUT)
endfunction

" s:Items returns ALE's problems for buffer as dictionaries.
function! s:Items(buffer) abort
    let l:out = []

    for l:item in ale#engine#GetLoclist(a:buffer)
        call add(l:out, {
        \   'file': fnamemodify(bufname(a:buffer), ':p')[len($PELATO_PROJECT) + 1 :],
        \   'linter': get(l:item, 'linter_name', ''),
        \   'code': get(l:item, 'code', ''),
        \   'line': l:item.lnum,
        \   'col': l:item.col,
        \   'type': l:item.type,
        \   'text': l:item.text,
        \})
    endfor

    return l:out
endfunction

function! s:HasCode(buffer, code) abort
    return !empty(filter(s:Items(a:buffer), 'v:val.code is# a:code'))
endfunction

" s:Wait sleeps in steps of 50 ms (Vim handles channel and timer callbacks
" while sleeping) until Cond() is true; throws after the timeout.
function! s:Wait(Cond, what) abort
    let l:start = reltime()

    while !a:Cond()
        if reltimefloat(reltime(l:start)) * 1000 > s:timeout
            throw 'timed out waiting for ' . a:what . '; ALE history: '
            \   . string(map(copy(ale#history#Get(bufnr(''))), 'string(v:val)'))
        endif

        sleep 50m
    endwhile
endfunction

function! s:Main() abort
    let l:project = $PELATO_PROJECT
    execute 'edit ' . fnameescape(l:project . '/tasks/convert.go')
    let l:task = bufnr('')
    execute 'edit ' . fnameescape(l:project . '/workflow.yaml')
    let l:wf = bufnr('')

    if PelatoProjectRoot(l:wf) isnot# l:project || PelatoProjectRoot(l:task) isnot# l:project
        throw 'PelatoProjectRoot: ' . PelatoProjectRoot(l:wf) . ' / ' . PelatoProjectRoot(l:task)
    endif

    if getbufvar(l:wf, 'ale_linters') != ['pelato'] || getbufvar(l:task, 'ale_linters') != ['pelato']
        throw 'pelato.vim did not select the pelato linter: ' . string(getbufvar(l:wf, 'ale_linters'))
    endif

    call s:Wait({-> s:HasCode(l:wf, 'PL201') && !empty(s:Items(l:task))},
    \   'ALE problems (PL201 on workflow.yaml, any on tasks/convert.go)')

    " Settle: the server may publish again (e.g. once the task checks
    " finish); take the problems after 300 ms without a change.
    let l:before = []
    let l:items = s:Items(l:wf) + s:Items(l:task)

    while l:items != l:before
        let l:before = l:items
        sleep 300m
        let l:items = s:Items(l:wf) + s:Items(l:task)
    endwhile

    call sort(l:items, {a, b -> a.file is# b.file ? a.line - b.line : (a.file < b.file ? -1 : 1)})

    return {
    \   'filetypes': [getbufvar(l:wf, '&filetype'), getbufvar(l:task, '&filetype')],
    \   'diagnostics': l:items,
    \}
endfunction

try
    call s:Write(s:Main())
    qall!
catch
    call s:Write({'error': v:exception . ' at ' . v:throwpoint})
    cquit 1
endtry
