" nets recipes (https://github.com/nets-lang/nets)
autocmd BufRead,BufNewFile *.nets setfiletype nets
