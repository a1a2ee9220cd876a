# SPDX-License-Identifier: MIT
# jobstat.bash - bash completion for jobstat: commands, options, the formats each
# command prints, JobState names, flavours, and the InstanceIDs jobstatd has now.
# Installed as $(datadir)/bash-completion/completions/jobstat.

_jobstat_ids()
{
	# The first column of `jobstat list`; the namespace given on the line, if any.
	local ns=()
	[[ -n $1 ]] && ns=(-n "$1")
	jobstat "${ns[@]}" list 2>/dev/null | awk 'NR > 1 { print $1 }'
}

_jobstat()
{
	local cur prev cmd ns i nargs=0 line=${COMP_LINE:0:COMP_POINT}
	local commands="info list get error wait watch terminate kill suspend resume remove"
	local -a w

	# Words split at blanks only: COMP_WORDS also splits at ':', which every
	# InstanceID has.
	read -ra w <<<"$line"
	[[ -z $line || $line == *[[:space:]] ]] && w+=("")
	cur=${w[${#w[@]}-1]}
	prev=${w[${#w[@]}-2]}

	# The command is the first word that is neither an option nor an option's value.
	for ((i = 1; i < ${#w[@]} - 1; i++)); do
		case ${w[i]} in
		-n | --namespace) ns=${w[i+1]}; ((i++)) ;;
		--format | --state | --owner | --timeout | --flavour | --for | --lost-grace) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=${w[i]}; else ((nargs++)); fi ;;
		esac
	done

	case $prev in
	-n | --namespace)
		COMPREPLY=($(compgen -W "$(ls /dev/shm 2>/dev/null | sed -n 's/^jobstat\.//p' |
			grep -v '\.' )" -- "$cur"))
		return ;;
	--format)
		local f="text json"
		case $cmd in
		list) f="text json ndjson" ;;
		error) f="text json cimxml" ;;
		watch) f="text" ;;
		esac
		COMPREPLY=($(compgen -W "$f" -- "$cur"))
		return ;;
	--state)
		COMPREPLY=($(compgen -W "New Starting Running Suspended Shutting_Down
			Completed Terminated Killed Exception Service Query_Pending
			CompletedWithWarnings" -- "$cur"))
		return ;;
	--owner)
		COMPREPLY=($(compgen -u -- "$cur"))
		return ;;
	--flavour)
		COMPREPLY=($(compgen -W "cim hyperv do" -- "$cur"))
		return ;;
	--timeout | --for | --lost-grace)
		return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-n --namespace --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local opts="--format"
	case $cmd in
	info) opts="--timeout --format" ;;
	list) opts="--state --owner --format" ;;
	error) opts="--all --flavour --format" ;;
	wait) opts="--timeout --lost-grace --format" ;;
	terminate | kill | suspend | resume) opts="--timeout --format" ;;
	remove) opts="--owner --now --timeout --format" ;;
	watch) opts="--state --owner --for" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts -n --namespace" -- "$cur"))
		return
	fi
	case $cmd in
	get | error | wait | terminate | kill | suspend | resume | remove)
		if ((nargs == 0)); then # one InstanceID
			COMPREPLY=($(compgen -W "$(_jobstat_ids "$ns")" -- "$cur"))
			# bash splits words at ':' (COMP_WORDBREAKS): complete only what follows.
			if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
				local pre=${cur%"${cur##*:}"}
				COMPREPLY=("${COMPREPLY[@]#"$pre"}")
			fi
		fi
		;;
	esac
}

complete -F _jobstat jobstat
