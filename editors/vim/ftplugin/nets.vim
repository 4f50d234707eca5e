" Vim filetype plugin for nets recipes (https://github.com/nets-lang/nets)

if exists("b:did_ftplugin")
  finish
endif
let b:did_ftplugin = 1

" # comments (gc, gq and commentary plugins read these); keywords and
" words contain '-' (private-key, veth-a), so * and w treat them whole.
setlocal comments=:# commentstring=#\ %s formatoptions-=t formatoptions+=croql
setlocal iskeyword=@,48-57,_,-
" % jumps between the < and > of a block.
setlocal matchpairs+=<:>

let b:undo_ftplugin = "setlocal comments< commentstring< formatoptions< iskeyword< matchpairs<"
