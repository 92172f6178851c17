# Todos los correos electrónicos, mensajes de texto y llamadas de voz que envía Verity
# (src/notify/notices.rs). Variables: $site (nombre del producto), $help (dirección del centro de
# ayuda), $reset (dirección de la página "olvidé mi contraseña"). Las horas ($when, $ready) ya
# vienen escritas. En el mensaje con el código de seguridad, el código va primero.

## Registro

notice-confirm-email-subject = Confirme su correo electrónico para { $site }
notice-confirm-email-body =
    Le damos la bienvenida a { $site }.

    Para confirmar su dirección de correo electrónico y elegir su contraseña, abra este enlace:

    { $link }

    El enlace funciona una sola vez y vence en { $hours ->
        [one] 1 hora
       *[other] { $hours } horas
    }.

    Si usted no creó una cuenta, ignore este correo: no se activará ninguna cuenta.

notice-sign-up-existing-subject = Alguien intentó registrarse en { $site } con su correo electrónico
notice-sign-up-existing-body =
    Alguien intentó crear una cuenta de { $site } con esta dirección de correo electrónico, pero usted ya tiene una.

    Si fue usted, inicie sesión aquí: { $link }

    Si no fue usted, no tiene que hacer nada. Su cuenta no ha cambiado.

## Inicio de sesión: bloqueos, códigos, alertas

notice-sign-in-paused-subject = El inicio de sesión en su cuenta de { $site } está en pausa
notice-sign-in-paused-body =
    Bloqueamos el inicio de sesión en su cuenta de { $site } después de muchas contraseñas incorrectas. El último intento vino de la dirección IP { $ip }.

    Puede volver a intentarlo en { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    }. Si olvidó su contraseña, no tiene que esperar: restablézcala con este enlace.

    { $reset }

    Si no fue usted, es posible que alguien esté tratando de adivinar su contraseña. Cuando vuelva a entrar, elija una contraseña nueva que no use en ningún otro lugar.

    ¿Necesita ayuda? { $help }
notice-sign-in-paused-sms = { $site }: el inicio de sesión en su cuenta está en pausa por { $minutes } min después de muchas contraseñas incorrectas. ¿Olvidó su contraseña? Restablézcala: { $reset }

notice-sign-in-locked-subject = El inicio de sesión en su cuenta de { $site } está bloqueado hasta que restablezca su contraseña
notice-sign-in-locked-body =
    Bloqueamos el inicio de sesión en su cuenta de { $site } después de muchas contraseñas incorrectas. El último intento vino de la dirección IP { $ip }.

    El inicio de sesión seguirá bloqueado hasta que restablezca su contraseña. Esperar no lo desbloqueará. Para elegir una contraseña nueva, abra este enlace:

    { $reset }

    Si no puede restablecer su contraseña, comuníquese con el equipo de asistencia y le ayudaremos. Nuestro centro de ayuda explica cómo: { $help }

    Si no fue usted, es posible que alguien esté tratando de adivinar su contraseña. Con una contraseña nueva, esa persona ya no podrá entrar.
notice-sign-in-locked-sms = { $site }: el inicio de sesión en su cuenta está bloqueado después de muchas contraseñas incorrectas. Restablezca su contraseña para desbloquearlo: { $reset }

notice-second-factor-paused-subject = Demasiados códigos de seguridad incorrectos en su cuenta de { $site }
notice-second-factor-paused-body =
    Se ingresaron { $failures } códigos de seguridad incorrectos en su cuenta de { $site }, así que el inicio de sesión con un segundo factor está en pausa por { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    }.

    Si no fue usted, es posible que alguien conozca su contraseña: cámbiela en cuanto pueda iniciar sesión.

    ¿Necesita ayuda? { $help }
notice-second-factor-paused-sms = { $site }: demasiados códigos de seguridad incorrectos; el inicio de sesión en su cuenta está en pausa por { $minutes } min. ¿No fue usted? Alguien podría conocer su contraseña: cámbiela cuando pueda iniciar sesión.

notice-security-code-subject = Código de seguridad de { $site }
notice-security-code-sms = { $code } es su código de seguridad de { $site }. Vence en { $minutes } minutos. No se lo dé a nadie.
# $spoken es el código dígito por dígito ("1, 2, 3"), para que se lea así.
notice-security-code-voice = Su código de seguridad de { $site } es { $spoken }. Repito: { $spoken }.

notice-new-sign-in-subject = Nuevo inicio de sesión en su cuenta de { $site }
notice-new-sign-in-body =
    { $why ->
        [network] Alguien acaba de iniciar sesión en su cuenta de { $site } en un navegador que ya usó antes, pero desde una red nueva.
       *[device] Alguien acaba de iniciar sesión en su cuenta de { $site } desde un dispositivo nuevo.
    }

    Cuándo: { $when }
    Navegador: { $browser }
    Dirección IP: { $ip }

    Si fue usted, no tiene que hacer nada.
    Si no fue usted, abra este enlace para cerrar la sesión en todos los dispositivos:

    { $link }
notice-new-sign-in-sms = { $site }: nuevo inicio de sesión en su cuenta el { $when } desde { $ip }. ¿No fue usted? { $link }
notice-unknown-browser = un navegador desconocido

## Contraseña

notice-password-reset-link-subject = Restablezca su contraseña de { $site }
notice-password-reset-link-body =
    Alguien pidió restablecer la contraseña de su cuenta de { $site }.

    Para elegir una contraseña nueva, abra este enlace dentro de { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    }:

    { $link }

    El enlace funciona una sola vez. Si usted no lo pidió, puede ignorar este correo: su contraseña seguirá igual.

notice-password-reset-subject = Se cambió su contraseña de { $site }
notice-password-reset-body =
    La contraseña de su cuenta de { $site } se restableció el { $when }. Se cerró la sesión en todos los dispositivos y todas las aplicaciones conectadas a su cuenta tendrán que volver a iniciar sesión.

    Si no fue usted, comuníquese de inmediato con el equipo de asistencia: { $help }
notice-password-reset-sms = { $site }: su contraseña se restableció el { $when }. ¿No fue usted? Comuníquese con asistencia: { $help }

notice-password-changed-subject = Se cambió su contraseña de { $site }
notice-password-changed-body =
    La contraseña de su cuenta de { $site } se cambió el { $when }. Se cerró la sesión en todos los demás dispositivos.

    Si no fue usted, abra este enlace de inmediato:

    { $link }
notice-password-changed-sms = { $site }: su contraseña se cambió el { $when }. ¿No fue usted? { $link }

## Segundos factores

notice-methods-changed-subject = Cambiaron los métodos de inicio de sesión de su cuenta de { $site }
notice-methods-changed-body =
    { $change ->
        [app-added] Se agregó una aplicación de autenticación a su cuenta de { $site } el { $when }.
       *[app-removed] Se quitó una aplicación de autenticación de su cuenta de { $site } el { $when }.
    }

    Si no fue usted, abra este enlace de inmediato:

    { $link }

notice-key-changed-subject = Cambiaron los métodos de inicio de sesión de su cuenta de { $site }
notice-key-changed-body =
    { $change ->
        [key-added] Se agregó una llave de seguridad ("{ $name }") a su cuenta de { $site } el { $when }.
        [key-removed] Se quitó una llave de seguridad ("{ $name }") de su cuenta de { $site } el { $when }.
        [passkey-added] Se agregó una llave de acceso ("{ $name }") a su cuenta de { $site } el { $when }.
       *[passkey-removed] Se quitó una llave de acceso ("{ $name }") de su cuenta de { $site } el { $when }.
    }

    Si no fue usted, abra este enlace de inmediato:

    { $link }
notice-key-changed-sms = { $site }: { $change ->
        [key-added] se agregó una llave de seguridad
        [key-removed] se quitó una llave de seguridad
        [passkey-added] se agregó una llave de acceso
       *[passkey-removed] se quitó una llave de acceso
    } el { $when }. ¿No fue usted? { $link }
notice-key-cloned-subject = Es posible que una llave de seguridad de su cuenta de { $site } haya sido copiada
notice-key-cloned-body =
    El { $when }, su llave de seguridad o llave de acceso "{ $name }" dio una respuesta que sugiere que alguien la copió, así que la rechazamos.

    Si todavía tiene la llave, vuelva a intentarlo con ella. Si esto vuelve a ocurrir, quítela de su cuenta y agregue una nueva, y considere cambiar su contraseña.

notice-phones-changed-subject = Cambiaron los números de teléfono de su cuenta de { $site }
notice-phones-changed-body =
    { $change ->
        [replaced] El { $when }, el número de teléfono { $old } se reemplazó por { $new } en su cuenta de { $site }.
        [added] El { $when }, se agregó el número de teléfono { $new } a su cuenta de { $site }.
        [removed] El { $when }, se quitó el número de teléfono { $old } de su cuenta de { $site }.
       *[other] El { $when }, cambiaron los números de teléfono de su cuenta de { $site }.
    }

    Si fue usted, no tiene que hacer nada.
    Si no fue usted, abra este enlace para cerrar la sesión en todos los dispositivos y proteger su cuenta:

    { $link }

notice-phone-old-number-subject = Cambio de teléfono en { $site }
notice-phone-old-number-sms = { $site }: su número en { $site } se cambió el { $when }. Si no fue usted, vaya a { $link }

notice-phone-new-number-subject = Teléfono agregado en { $site }
notice-phone-new-number-sms = { $site }: este número ya está en su cuenta de { $site } (desde el { $when }). Los códigos de seguridad llegarán aquí.

notice-factors-removed-by-support-subject = Se quitaron los segundos factores de su cuenta de { $site }
notice-factors-removed-by-support-body =
    Como usted lo pidió, nuestro equipo de asistencia quitó todos los segundos factores (números de teléfono, aplicaciones de autenticación, códigos de respaldo) de su cuenta de { $site } y cerró la sesión en todos los dispositivos.

    La próxima vez que inicie sesión, configurará uno nuevo.

    Si usted no lo pidió, comuníquese de inmediato con el equipo de asistencia de { $site }: { $help }

## Direcciones de correo electrónico

notice-confirm-added-email-subject = Confirme su nuevo correo electrónico para { $site }
notice-confirm-added-email-body =
    Para confirmar esta dirección para su cuenta de { $site }, abra este enlace en un navegador donde tenga la sesión iniciada en esa cuenta y oprima Confirmar:

    { $link }

    Si usted no lo pidió, ignore este correo: nada cambiará a menos que se confirme.

notice-email-added-subject = Se agregó una dirección de correo electrónico a su cuenta de { $site }
notice-email-added-body =
    Se agregó la dirección { $address } a su cuenta de { $site } y está pendiente de confirmación.

    Si no fue usted, inicie sesión, quítela y cambie su contraseña.

notice-email-confirmed-subject = Se confirmó una nueva dirección de correo electrónico en su cuenta de { $site }
notice-email-confirmed-body =
    La dirección { $address } ya está confirmada en su cuenta de { $site }.

    Si no fue usted, inicie sesión, quítela y cambie su contraseña. ¿Necesita ayuda? { $help }
notice-email-confirmed-sms = { $site }: { $address } ahora es una dirección de correo electrónico de su cuenta. ¿No fue usted? Obtenga ayuda: { $help }

notice-sign-in-email-changed-subject = Cambió el correo electrónico con el que inicia sesión en { $site }
notice-sign-in-email-changed-body =
    Ahora inicia sesión en { $site } con { $new } en lugar de { $old }.

    Si no fue usted, inicie sesión, vuelva a cambiarlo y cambie su contraseña.
notice-sign-in-email-changed-sms = { $site }: ahora inicia sesión con { $new } en lugar de { $old }. ¿No fue usted? Obtenga ayuda: { $help }

notice-email-removed-subject = Se quitó una dirección de correo electrónico de su cuenta de { $site }
notice-email-removed-body =
    Se quitó la dirección { $address } de su cuenta de { $site }.

    Si no fue usted, inicie sesión y cambie su contraseña.
notice-email-removed-sms = { $site }: se quitó { $address } de su cuenta. ¿No fue usted? Obtenga ayuda: { $help }

## Restablecimiento de la cuenta (se perdieron todos los segundos factores)

notice-account-reset-confirm-subject = Confirme el restablecimiento de su cuenta de { $site }
notice-account-reset-confirm-body =
    Alguien que conoce su contraseña pidió restablecer los métodos de inicio de sesión de su cuenta de { $site } porque ya no tiene su teléfono ni otro segundo factor.

    Para confirmar la solicitud, abra este enlace:

    { $link }

    Después de confirmar, por su seguridad hay que esperar { $hours ->
        [one] 1 hora
       *[other] { $hours } horas
    }. Luego le enviaremos por correo electrónico un enlace que quita sus números de teléfono, aplicaciones de autenticación y códigos de respaldo, para que pueda configurar otros nuevos.

    Si usted no lo pidió, ignore este correo y cambie su contraseña: alguien la conoce.

notice-account-reset-requested-subject = Se pidió restablecer su cuenta de { $site }
notice-account-reset-requested-body =
    El { $when }, alguien pidió quitar todos los métodos de inicio de sesión (números de teléfono, aplicaciones de autenticación, códigos de respaldo) de su cuenta de { $site }.

    Será posible a partir del { $ready }. Si fue usted, no tiene que hacer nada: ese día le enviaremos un enlace por correo electrónico.

    Si no fue usted, inicie sesión en { $site } como siempre (contraseña y su teléfono o aplicación) antes de esa fecha: así se cancela el restablecimiento. Luego cambie su contraseña, porque quien lo pidió la conoce.
notice-account-reset-requested-sms = { $site }: alguien pidió restablecer los métodos de inicio de sesión de su cuenta. ¿No fue usted? Inicie sesión antes del { $ready } para cancelarlo.

notice-account-reset-ready-subject = Ya puede restablecer su cuenta de { $site }
notice-account-reset-ready-body =
    Terminó el periodo de espera del restablecimiento de su cuenta. Abra este enlace para quitar todos los números de teléfono, aplicaciones de autenticación y códigos de respaldo de su cuenta de { $site }:

    { $link }

    Luego inicie sesión con su contraseña y configure nuevos métodos de inicio de sesión. El enlace funciona una sola vez y vence en { $hours ->
        [one] 1 hora
       *[other] { $hours } horas
    }.

    Si ya no necesita el restablecimiento, ignore este correo.

notice-account-reset-done-subject = Se quitaron los métodos de inicio de sesión de su cuenta de { $site }
notice-account-reset-done-body =
    Como lo pidió, el { $when } se quitaron todos los números de teléfono, aplicaciones de autenticación y códigos de respaldo de su cuenta de { $site }, y se cerró la sesión en todos los dispositivos. Inicie sesión con su contraseña para configurar otros nuevos.

    Si no fue usted, comuníquese de inmediato con el equipo de asistencia: { $help }

notice-account-reset-number-removed-subject = Restablecimiento de cuenta en { $site }
notice-account-reset-number-removed-sms = { $site }: este número se quitó de una cuenta al restablecerla. ¿No fue usted? Comuníquese con asistencia: { $help }

notice-account-reset-cancelled-subject = Se canceló el restablecimiento de su cuenta de { $site }
notice-account-reset-cancelled-body =
    El { $when } se inició sesión en su cuenta de { $site } con su contraseña y su segundo factor, así que se canceló el restablecimiento de la cuenta que estaba pendiente. Sus métodos de inicio de sesión siguen iguales.

    Si todavía necesita restablecerla, vuelva a pedirlo. Si usted no lo pidió, cambie su contraseña: quien lo pidió la conoce.
notice-account-reset-cancelled-sms = { $site }: se canceló el restablecimiento de cuenta pendiente porque usted inició sesión.

## Asistencia

notice-support-received-subject = Recibimos su mensaje ({ $ticket })
notice-support-received-body =
    Gracias por comunicarse con el equipo de asistencia de { $site }. Su número de caso es { $ticket }.

    Le responderemos a esta dirección. Si nos vuelve a escribir sobre este tema, mencione el número de caso.

    Nunca le pediremos su contraseña ni un código que le hayamos enviado.

# $reply es la respuesta del agente de asistencia, tal como la escribió.
notice-support-reply-subject = Re: su mensaje al equipo de asistencia de { $site } ({ $ticket })
notice-support-reply-body =
    { $reply }

    --
    Equipo de asistencia de { $site }, sobre el caso { $ticket }. Para responder, vuelva a comunicarse con asistencia y mencione el número de caso: { $help }
    Nunca le pediremos su contraseña ni un código que le hayamos enviado.

# $subject y $body son el aviso del operador, tal como lo escribió.
notice-service-subject = { $subject }
notice-service-body =
    { $body }

    --
    Recibe este mensaje porque tiene una cuenta en { $site }. Es un aviso de servicio; no le pide nada. Nunca le pediremos su contraseña ni un código que le hayamos enviado.

notice-account-deleted-subject = Se eliminó su cuenta de { $site }
notice-account-deleted-body =
    Nuestro equipo de asistencia eliminó su cuenta de { $site } y los datos personales que contenía.

    Si usted no lo pidió, comuníquese con el equipo de asistencia de { $site }: { $help }

## Verificación de identidad

notice-identity-verified-subject = Su identidad fue verificada con { $site }
notice-identity-verified-body =
    Su cuenta de { $site } ahora tiene una identidad verificada (comprobada el { $when }). Las aplicaciones que usted autorice ahora pueden recibir su nombre, fecha de nacimiento y dirección verificados.

    Si usted no verificó su identidad, abra este enlace de inmediato:

    { $link }
notice-identity-verified-sms = { $site }: su identidad fue verificada el { $when }. ¿No fue usted? { $link }
notice-identity-removed-subject = Se eliminó su identidad verificada de { $site }
notice-identity-removed-body =
    { $by ->
        [support] El servicio de asistencia eliminó los datos de identidad verificada de su cuenta de { $site } el { $when }.
       *[you] Se eliminaron los datos de identidad verificada de su cuenta de { $site } el { $when }.
    } Las aplicaciones que necesiten una identidad verificada le pedirán que la verifique de nuevo.

    Si no esperaba este cambio, abra este enlace de inmediato:

    { $link }
notice-identity-removed-sms = { $site }: los datos de su identidad verificada se eliminaron el { $when }. ¿No fue usted? { $link }
notice-letter-sent-subject = Su carta de { $site } está en camino
notice-letter-sent-body =
    La carta con su código de verificación de { $site } se envió por correo el { $sent } a la dirección que usted confirmó. El correo puede tardar unos días.

    Cuando llegue, inicie sesión e ingrese el código aquí (es válido hasta el { $until }):

    { $link }

    Si usted no pidió una carta, comuníquese con el servicio de asistencia: { $help }
notice-letter-reminder-subject = Ingrese el código de su carta de { $site }
notice-letter-reminder-body =
    Le enviamos por correo una carta con un código de verificación de { $site } el { $sent }, y el código todavía no se ha ingresado. Es válido hasta el { $until }; después necesitará una carta nueva.

    Inicie sesión e ingrese el código aquí:

    { $link }

    Si la carta nunca llegó, puede pedir otra en la misma página.
notice-referee-reminder-subject = Su videollamada de { $site } con un agente
notice-referee-reminder-body =
    { $queue ->
        [yes] Un agente está listo para su videollamada de verificación de identidad.
       *[no] Su videollamada con un agente para verificar su identidad empieza a las { $when }.
    } Únase aquí:

    { $meeting }

    Tenga a mano su documento de identidad y su código de continuación: el agente se lo pedirá primero. Puede ver su caso aquí:

    { $link }

    Si no pidió una llamada, comuníquese con el servicio de asistencia: { $help }
notice-referee-reminder-sms = { $site }: { $queue ->
        [yes] un agente está listo para su videollamada.
       *[no] su videollamada con un agente empieza a las { $when }.
    } Únase: { $meeting }
notice-referee-decided-subject = Su verificación de { $site } con un agente
notice-referee-decided-body =
    { $outcome ->
        [verified] El agente confirmó su identidad. Para terminar, inicie sesión e ingrese su contraseña una vez más: así sus datos verificados quedan protegidos y solo usted puede desbloquearlos.
       *[not_verified] El agente no pudo confirmar su identidad, así que esta verificación terminó. Puede empezar de nuevo cuando quiera.
    }

    { $link }

    Si tiene preguntas, comuníquese con el servicio de asistencia: { $help }
