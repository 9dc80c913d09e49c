/*
 * The commands drover-deploy carries out (deploy-main.c), named here so
 * that drover's forwarding entries (deploy-fwd.c) show the same summary
 * and usage without linking their code.
 */
#ifndef DROVER_DEPLOY_CMDS_H
#define DROVER_DEPLOY_CMDS_H

#define DEPLOY_HELPER		"drover-deploy"

#define CMD_DEPLOY_SUMMARY	"fetch dependencies into the shared cache and link them"
#define CMD_DEPLOY_USAGE	"drover deploy FILE [--cache DIR] [-j N] [--dry-run] "\
	    "[--lock-timeout SECONDS] [--max-size BYTES]"

#define CMD_CACHE_SUMMARY	"list or prune the dependency cache"
#define CMD_CACHE_USAGE		"drover cache ls [--cache DIR] [--json] | "\
	    "drover cache gc --keep-days N [--cache DIR] [--dry-run]"

#endif
