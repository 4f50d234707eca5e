" Vim indent file for nets recipes (https://github.com/nets-lang/nets)
" A line after one that opens a block (ends in '<', before any comment) is
" indented one level more; a line starting with '>' one level less.

if exists("b:did_indent")
  finish
endif
let b:did_indent = 1

setlocal indentexpr=GetNetsIndent(v:lnum) indentkeys=0>,o,O,!^F autoindent
let b:undo_indent = "setlocal indentexpr< indentkeys< autoindent<"

if exists("*GetNetsIndent")
  finish
endif

" s:Code returns line lnum without its comment and trailing blanks (a '#'
" inside a string does not start one).
function s:Code(lnum) abort
  let line = getline(a:lnum)
  let in_string = 0
  let i = 0
  while i < len(line)
    let c = line[i]
    if c ==# '\' && in_string
      let i += 1
    elseif c ==# '"'
      let in_string = !in_string
    elseif c ==# '#' && !in_string
      let line = strpart(line, 0, i)
      break
    endif
    let i += 1
  endwhile
  return substitute(line, '\s\+$', '', '')
endfunction

function GetNetsIndent(lnum) abort
  let prev = prevnonblank(a:lnum - 1)
  if prev == 0
    return 0
  endif
  let ind = indent(prev)
  let code = s:Code(prev)
  " Opens a block: ends in '<' (not '<=' and not a line that also closes it).
  if code =~# '<$' && code !~# '<=$'
    let ind += shiftwidth()
  endif
  if getline(a:lnum) =~# '^\s*>'
    let ind -= shiftwidth()
  endif
  return ind < 0 ? 0 : ind
endfunction
