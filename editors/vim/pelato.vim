" pelato.vim — ALE configuration for pelato-lsp, pelato's language server.
"
" Requires Vim 8.2+/9 (or Neovim) and ALE 3.x (Debian: apt install vim-ale).
" Defines an ALE LSP linter named 'pelato' for a pelato project's
" workflow.yaml (filetype yaml) and the Go task files under its tasks/ folder
" (filetype go). The project root given to the server is the folder holding
" workflow.yaml. One server runs per project, shared by both filetypes.
"
" Install: load ALE first, then source this file, e.g. in ~/.vimrc
"
"   packadd! ale                       " Debian's vim-ale
"   source /path/to/pelato.vim
"
" or copy it to ~/.vim/plugin/. Options:
"
"   g:ale_pelato_lsp_executable   the server (default 'pelato-lsp')
"   g:pelato_lsp_settings         the server's settings (default
"                                 {'minSeverity': 'warning'}: ALE shows hints
"                                 and infos as warnings, so they are hidden;
"                                 {} shows every diagnostic)
"   g:pelato_ale_linters          linters ALE runs on pelato files, by
"                                 filetype (default: only 'pelato'), e.g.
"                                 {'yaml': ['pelato', 'yamllint'], 'go': ['pelato']}
"
" Other yaml and go files keep the linters they had. Use ALE's commands as
" usual: :ALECodeAction for quick fixes, ALE completion (g:ale_completion_enabled
" or <C-x><C-o> with omnifunc=ale#completion#OmniFunc), :ALEHover, :ALEGoToDefinition.

if exists('g:loaded_pelato_ale')
    finish
endif

if !exists('g:loaded_ale') && empty(globpath(&runtimepath, 'autoload/ale.vim'))
    echohl WarningMsg
    echomsg 'pelato.vim: ALE is not installed (Debian: apt install vim-ale, then packadd! ale)'
    echohl None
    finish
endif

let g:loaded_pelato_ale = 1

call ale#Set('pelato_lsp_executable', 'pelato-lsp')

" ALE 3 shows LSP hints and infos as warnings ('W'): by default the server does
" not publish them to Vim. Set g:pelato_lsp_settings = {} to see them all.
if !exists('g:pelato_lsp_settings')
    let g:pelato_lsp_settings = {'minSeverity': 'warning'}
endif

" s:Settings returns the server's settings, as initializationOptions and as the
" 'pelato' section of workspace/didChangeConfiguration.
function! s:Settings(buffer) abort
    return {'pelato': get(g:, 'pelato_lsp_settings', {})}
endfunction

if !exists('g:pelato_ale_linters')
    let g:pelato_ale_linters = {'yaml': ['pelato'], 'go': ['pelato']}
endif

" PelatoProjectRoot returns the pelato project root of buffer (the folder
" holding workflow.yaml), or '' when the buffer is neither a project's
" workflow.yaml nor a .go file below the project's tasks/ folder.
function! PelatoProjectRoot(buffer) abort
    let l:path = fnamemodify(bufname(a:buffer), ':p')

    if empty(l:path)
        return ''
    endif

    if fnamemodify(l:path, ':t') is# 'workflow.yaml'
        return fnamemodify(l:path, ':h')
    endif

    if l:path !~# '\.go$'
        return ''
    endif

    let l:dir = fnamemodify(l:path, ':h')

    while 1
        let l:parent = fnamemodify(l:dir, ':h')

        if fnamemodify(l:dir, ':t') is# 'tasks' && filereadable(l:parent . '/workflow.yaml')
            return l:parent
        endif

        if l:parent is# l:dir
            return ''
        endif

        let l:dir = l:parent
    endwhile
endfunction

for s:filetype in ['yaml', 'go']
    call ale#linter#Define(s:filetype, {
    \   'name': 'pelato',
    \   'lsp': 'stdio',
    \   'language': s:filetype,
    \   'executable': {b -> ale#Var(b, 'pelato_lsp_executable')},
    \   'command': '%e',
    \   'project_root': function('PelatoProjectRoot'),
    \   'initialization_options': function('s:Settings'),
    \   'lsp_config': function('s:Settings'),
    \})
endfor

unlet s:filetype

" Pelato files run the linters of g:pelato_ale_linters (buffer-local, so other
" yaml and go files are left alone).
function! s:SetLinters() abort
    if empty(PelatoProjectRoot(bufnr(''))) || exists('b:ale_linters')
        return
    endif

    let b:ale_linters = get(g:pelato_ale_linters, &filetype, ['pelato'])
endfunction

augroup pelato_ale
    autocmd!
    autocmd FileType yaml,go call s:SetLinters()
augroup END
