"""Reports staff hand in and print: the quarterly 附件2/附件3 统计表
(:mod:`kejie.reports.quarterly`) and XLSX lists of demands and matches
(:mod:`kejie.reports.lists`)."""
